# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet rain generator ``G`` and official-checkpoint helpers.

Re-implementation of the ``Decoder`` of *From Rain Generation to Rain
Removal* (Wang et al., CVPR 2021; official code: hongwang01/VRGNet, commit
``036d7a9``, files ``for_syn/vrgnet.py`` and ``for_syn/vrgnet_256.py``).

:class:`RainGenerator` maps a rain latent ``z`` (B, latent_dim) to a rain
layer ``R = G(z)`` (B, 3, S, S). A rainy image is synthesised as
``clamp(B + G(z), 0, 1)`` with ``B`` an RGB background in [0, 1]; the
official augmentation ("A+") draws ``z ~ N(0, I)``. The last layer is a
ReLU, so ``R >= 0``; ``R`` is not clamped above.

Architecture (``C = base_channels``, ``n = 4`` for 64 px, ``6`` for 256 px):
Linear(latent_dim -> 2^n C), reshape to (2^n C, 1, 1), ReLU,
ConvT(2^n C -> 2^(n-1) C, k4, s1, p0) + ReLU (4x4), then ``n`` x
[ConvT(k4, s2, p1) + ReLU] halving the width down to ``C`` and finally 3
channels. No transposed convolution has a bias.

Official key layout. The official ``EDNet`` (RNet + G) state dict, saved as
``ED_state_{epoch}.pt`` (a bare state dict, possibly with a ``module.``
prefix from ``nn.DataParallel``), is, for 64 px and the defaults
(``nz = 128``, ``nef = 32``)::

    encoder.main.0.weight    (32, 3, 4, 4)
    encoder.main.2.weight    (64, 32, 4, 4)
    encoder.main.4.weight    (128, 64, 4, 4)
    encoder.main.6.weight    (256, 128, 4, 4)
    encoder.main.8.weight    (512, 256, 4, 4)
    encoder.main.8.bias      (512,)
    encoder.main.11.weight   (256, 512)
    encoder.main.11.bias     (256,)
    decoder.main.0.weight    (512, 128)
    decoder.main.0.bias      (512,)
    decoder.main.3.weight    (512, 256, 4, 4)
    decoder.main.5.weight    (256, 128, 4, 4)
    decoder.main.7.weight    (128, 64, 4, 4)
    decoder.main.9.weight    (64, 32, 4, 4)
    decoder.main.11.weight   (32, 3, 4, 4)

The 256-px variant (``vrgnet_256.py``) has its transposed convolutions at
``decoder.main.{3,5,...,15}`` (and the encoder's layers at
``encoder.main.{0,2,...,10,12,15}``). The mapping is the identity after
dropping the ``encoder.`` / ``decoder.`` prefixes (``encoder.main.*`` ->
:class:`RainEncoder`, ``decoder.main.*`` -> :class:`RainGenerator`); use
:func:`convert_official_vrgnet_ed`, which also infers the constructor
arguments from the tensor shapes. Note: the released ``ED_state_*.pt`` blobs
were missing from the snapshot of the official repository we could read;
the layout above comes from instantiating the official classes.

Parameters: 2,852,864 (64 px, defaults); 44,994,048 (256 px). Official
``EDNet`` totals: 5,771,520 (64 px) and 90,250,496 (256 px).
"""
from typing import Mapping, Sequence

import torch
import torch.nn as nn

from mmderain.registry import MODELS
from .vrgnet_encoder import _LatentImageNet


@MODELS.register_module()
class RainGenerator(_LatentImageNet):
    """VRGNet rain generator ``G``: latent code -> non-negative rain layer.

    Args:
        latent_dim (int): Size of the rain latent ``z`` (official ``nz``).
            Defaults to 128.
        base_channels (int): Width of the last hidden layer (official
            ``nef``). Defaults to 32.
        image_size (int): Output patch size, 64 or 256. Defaults to 64.

    Raises:
        ValueError: If ``image_size`` is not 64 or 256, or a width is not
            positive.
    """

    out_channels = 3

    def __init__(self,
                 latent_dim: int = 128,
                 base_channels: int = 32,
                 image_size: int = 64) -> None:
        super().__init__()
        depth = self._set_sizes(latent_dim, base_channels, image_size)

        top = base_channels * 2**depth
        layers = [
            nn.Linear(latent_dim, top),
            nn.Unflatten(1, (top, 1, 1)),  # official ``View``
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(top, top // 2, 4, 1, 0, bias=False),  # 4x4
            nn.ReLU(inplace=True),
        ]
        for i in range(depth - 1, -1, -1):
            in_ch = base_channels * 2**i
            out_ch = in_ch // 2 if i > 0 else self.out_channels
            layers += [
                nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False),
                nn.ReLU(inplace=True)
            ]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate rain layers.

        Args:
            z (Tensor): Latent codes (B, latent_dim).

        Returns:
            Tensor: Rain layers (B, 3, image_size, image_size), ``>= 0``.

        Raises:
            ValueError: If ``z`` is not (B, latent_dim).
        """
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f'RainGenerator(latent_dim={self.latent_dim}) expects z of '
                f'shape (B, {self.latent_dim}), got {tuple(z.shape)}')
        return self.main(z)


def vrgnet_weights_init(module: nn.Module) -> None:
    """Official VRGNet initialisation, to be used as ``net.apply(fn)``.

    Reproduces ``weights_init`` of the official ``train_*_joint.py``: the
    ``weight`` of every module whose class name contains ``'Conv'`` is drawn
    from N(0, 0.02). The official test ``classname.find('Conv' or
    'SNConv')`` reduces to ``find('Conv')``, so ``ConvTranspose2d`` matches
    too. Biases and ``nn.Linear`` layers keep PyTorch's defaults, and
    BatchNorm layers (none in VRGNet) get weight N(1, 0.02) and bias 0. The
    official code applies it to BNet and to the encoder/generator only, never
    to the critic; modules without a ``weight`` tensor (such as the
    convolution wrapped by the critic's spectral norm, whose weight is
    ``weight_bar``) are skipped.

    Args:
        module (nn.Module): The module visited by ``nn.Module.apply``.
    """
    name = type(module).__name__
    weight = getattr(module, 'weight', None)
    if not isinstance(weight, torch.Tensor):
        return
    with torch.no_grad():
        if 'Conv' in name:
            weight.normal_(0.0, 0.02)
        elif 'BatchNorm' in name:
            weight.normal_(1.0, 0.02)
            if isinstance(getattr(module, 'bias', None), torch.Tensor):
                module.bias.zero_()


def vrgnet_kaiming_init(module: nn.Module) -> None:
    """Kaiming-normal initialisation for VRGNet's ReLU networks, to be used
    as ``net.apply(fn)`` in place of :func:`vrgnet_weights_init`.

    Not official. The weight of every ``nn.Conv2d`` / ``nn.ConvTranspose2d``
    is drawn with ``torch.nn.init.kaiming_normal_(w, nonlinearity='relu')``
    (PyTorch's ``fan_in`` mode: ``w.size(1) * k * k``, i.e. the number of
    output channels times the kernel area for a transposed convolution) and
    biases are zeroed. With the official N(0, 0.02), the ``z``-dependent part
    of the generator's activations shrinks by about 2.5x per layer (no
    normalisation layers), so its samples hardly depend on ``z`` for
    hundreds of thousands of iterations; with this scale they do at once.

    Args:
        module (nn.Module): The module visited by ``nn.Module.apply``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.kaiming_normal_(module.weight, nonlinearity='relu')
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def tie_output_channels(generator: nn.Module) -> None:
    """Give the last transposed convolution of a rain generator the same
    filter for its three output channels, so that its rain is grey.

    Not official; applied after initialisation (``grey_init`` of
    :class:`~mmderain.models.editors.vrgnet.VRGNet`). Real synthetic rain is
    nearly colourless (Rain100L's rain layers have ``chroma`` 0.06, see
    :func:`~mmderain.apis.rain_generation.rain_layer_statistics`), while
    a freshly initialised generator mixes its last features into three
    unrelated channels (``chroma`` ~0.94), and the critic takes thousands
    of iterations to remove that colour. Training is free to untie the
    channels again; only the starting point changes.

    Args:
        generator (nn.Module): A :class:`RainGenerator` (or any module whose
            last ``nn.ConvTranspose2d`` has 3 output channels).

    Raises:
        ValueError: If ``generator`` has no transposed convolution or the
            last one does not have 3 output channels.
    """
    convs = [m for m in generator.modules()
             if isinstance(m, nn.ConvTranspose2d)]
    if not convs or convs[-1].out_channels != 3:
        raise ValueError(
            'tie_output_channels expects a generator whose last '
            'ConvTranspose2d has 3 output channels')
    last = convs[-1]
    with torch.no_grad():
        # ConvTranspose2d weights are (in_channels, out_channels, k, k)
        last.weight[:, 1:] = last.weight[:, :1]
        if last.bias is not None:
            last.bias[1:] = last.bias[:1]


def init_vrgnet_networks(nets: Mapping[str, nn.Module],
                         official: Sequence[str] = (),
                         kaiming: Sequence[str] = (),
                         grey: bool = False) -> None:
    """VRGNet's initialisation of its generator-side networks, shared by
    :meth:`~mmderain.models.editors.vrgnet.VRGNet.init_weights` and
    ``tools/vrgnet/train_plain.py``.

    Args:
        nets (Mapping[str, nn.Module]): Sub-networks by name
            (``'generator'``, ``'rain_encoder'``, ``'rain_generator'``).
        official (Sequence[str]): Names given :func:`vrgnet_weights_init`
            (the official N(0, 0.02)), applied first.
        kaiming (Sequence[str]): Names given :func:`vrgnet_kaiming_init`
            (not official), applied next.
        grey (bool): Then tie the rain generator's output channels
            (:func:`tie_output_channels`, not official).
    """
    for name in official:
        nets[name].apply(vrgnet_weights_init)
    for name in kaiming:
        nets[name].apply(vrgnet_kaiming_init)
    if grey:
        tie_output_channels(nets['rain_generator'])
