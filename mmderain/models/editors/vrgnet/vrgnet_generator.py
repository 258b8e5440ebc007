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
from typing import Sequence

import torch
import torch.nn as nn

from mmderain.registry import MODELS, WEIGHT_INITIALIZERS
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


#: The sub-networks of :class:`~mmderain.models.editors.vrgnet.VRGNet` the
#: official code initialises with :func:`vrgnet_weights_init`.
OFFICIAL_INIT_MODULES = ('generator', 'rain_encoder', 'rain_generator')


@WEIGHT_INITIALIZERS.register_module()
class VRGNetOfficialInit:
    """The official initialisation of a VRGNet's sub-networks, as an
    ``init_cfg`` entry (``dict(type='VRGNetOfficialInit', modules=...)``).

    :meth:`~mmderain.models.editors.vrgnet.VRGNet.init_weights` applies it
    to all three by default; an ``init_cfg`` replaces that default, so a
    config that re-initialises one sub-network in another way lists this
    entry for the others first.

    Args:
        modules (Sequence[str]): Names of the sub-networks given
            :func:`vrgnet_weights_init`, in this order. Defaults to
            :data:`OFFICIAL_INIT_MODULES` (BNet, RNet and G; the critic
            keeps PyTorch's defaults).
    """

    def __init__(self, modules: Sequence[str] = OFFICIAL_INIT_MODULES) -> None:
        self.modules = tuple(modules)

    def __call__(self, model: nn.Module) -> None:
        """Initialise the named sub-networks of ``model``.

        Args:
            model (nn.Module): A VRGNet.

        Raises:
            ValueError: If ``model`` lacks one of the sub-networks.
        """
        for name in self.modules:
            net = getattr(model, name, None)
            if not isinstance(net, nn.Module):
                raise ValueError(
                    f'{type(self).__name__}: {type(model).__name__} has no '
                    f'sub-network {name!r}')
            net.apply(vrgnet_weights_init)
