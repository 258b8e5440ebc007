# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet rain-latent inference network (``RNet``).

Re-implementation of the ``Encoder`` of *From Rain Generation to Rain
Removal* (Wang et al., CVPR 2021; official code: hongwang01/VRGNet, commit
``036d7a9``, files ``for_syn/vrgnet.py`` and ``for_syn/vrgnet_256.py``).

VRGNet models a rainy patch as ``O = B + G(z)`` with a latent rain code
``z ~ N(0, I)``. :class:`RainEncoder` is the inference network
``q(z | O) = N(mu_z(O), diag exp(logvar_z(O)))``; the generator ``G`` is
:class:`~mmderain.models.editors.vrgnet.RainGenerator`. Sampling
``z = mu + exp(logvar / 2) * eps`` (reparametrisation), the in-place clamp of
``logvar`` to ``[log 1e-8, log 1e4]`` and the KL term belong to the training
wrapper, not to this module.

Architecture (``C = base_channels``, ``n = 4`` for 64 px, ``6`` for 256 px):
``n`` x [Conv(k4, s2, p1, no bias) + ReLU] with widths ``C, 2C, ..., 2^(n-1)
C`` (down to 4x4), Conv(2^(n-1) C -> 2^n C, k4, s1, p0, with bias) + ReLU
(1x1), flatten, Linear(2^n C -> 2 * latent_dim). The output vector is split
into ``[mu | logvar]``.

Conventions (as in the official code):

* Input: **RGB** images in **[0, 1]**, shape (B, 3, S, S) with ``S`` exactly
  ``image_size`` (64, the released setting, or 256, the "demo" variant of
  ``vrgnet_256.py``, which the official scripts never use and for which no
  weights were released).
* The layers live in one ``nn.Sequential`` called ``main`` with the official
  indices (parameter-free ``nn.Flatten`` stands in for the official ``View``),
  so the state-dict keys are the official ``encoder.main.*`` keys without the
  ``encoder.`` prefix. 64 px, defaults:

  ===================  ===================
  key                  shape
  ===================  ===================
  ``main.0.weight``    (32, 3, 4, 4)
  ``main.2.weight``    (64, 32, 4, 4)
  ``main.4.weight``    (128, 64, 4, 4)
  ``main.6.weight``    (256, 128, 4, 4)
  ``main.8.weight``    (512, 256, 4, 4)
  ``main.8.bias``      (512,)
  ``main.11.weight``   (256, 512)
  ``main.11.bias``     (256,)
  ===================  ===================

  The 256-px variant has stride-2 convolutions at ``main.0 ... main.10``,
  the 4x4 convolution at ``main.12`` and the linear layer at ``main.15``.
  Official ``ED_state_*.pt`` files (``encoder.main.*`` + ``decoder.main.*``)
  are split by
  :func:`~mmderain.models.editors.vrgnet.vrgnet_generator.convert_official_vrgnet_ed`.
* Parameters: 2,918,656 (64 px, defaults); 45,256,448 (256 px).
* Official initialisation (``weights_init``: N(0, 0.02) on convolution
  weights only) is available as
  :func:`~mmderain.models.editors.vrgnet.vrgnet_weights_init`; the
  constructor keeps PyTorch's default initialisation.
"""
from typing import Tuple

import torch
import torch.nn as nn

from mmderain.registry import MODELS

#: Number of stride-2 (de)convolutions per supported patch size.
VRGNET_DEPTHS = {64: 4, 256: 6}


def vrgnet_depth(image_size: int) -> int:
    """Return the number of stride-2 levels of the VRGNet encoder/generator.

    Args:
        image_size (int): Patch size, 64 or 256.

    Returns:
        int: 4 for 64 px, 6 for 256 px.

    Raises:
        ValueError: For any other ``image_size``.
    """
    if image_size not in VRGNET_DEPTHS:
        raise ValueError(
            'image_size must be 64 or 256 (the two official VRGNet '
            f'variants, vrgnet.py and vrgnet_256.py), got {image_size!r}')
    return VRGNET_DEPTHS[image_size]


class _LatentImageNet(nn.Module):
    """Shared arguments of the VRGNet encoder and generator."""

    def _set_sizes(self, latent_dim: int, base_channels: int,
                   image_size: int) -> int:
        """Validate and store the sizes; returns the number of levels."""
        depth = vrgnet_depth(image_size)
        if latent_dim < 1 or base_channels < 1:
            raise ValueError('latent_dim and base_channels must be positive, '
                             f'got {latent_dim} and {base_channels}')
        self.latent_dim = latent_dim
        self.base_channels = base_channels
        self.image_size = image_size
        return depth


@MODELS.register_module()
class RainEncoder(_LatentImageNet):
    """VRGNet ``RNet``: posterior ``q(z | O)`` over the rain latent.

    Args:
        latent_dim (int): Size of the rain latent ``z`` (official ``nz``).
            Defaults to 128.
        base_channels (int): Width of the first convolution (official
            ``nef``). Defaults to 32.
        image_size (int): Input patch size, 64 or 256. Defaults to 64.

    Raises:
        ValueError: If ``image_size`` is not 64 or 256, or a width is not
            positive.
    """

    in_channels = 3

    def __init__(self,
                 latent_dim: int = 128,
                 base_channels: int = 32,
                 image_size: int = 64) -> None:
        super().__init__()
        depth = self._set_sizes(latent_dim, base_channels, image_size)

        layers = []
        in_ch = self.in_channels
        for i in range(depth):
            out_ch = base_channels * 2**i
            layers += [
                nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False),
                nn.ReLU(inplace=True)
            ]
            in_ch = out_ch
        top = base_channels * 2**depth
        layers += [
            nn.Conv2d(in_ch, top, 4, 1, 0),  # 4x4 -> 1x1, with bias
            nn.ReLU(inplace=True),
            nn.Flatten(1),  # official ``View((-1, top))``
            nn.Linear(top, 2 * latent_dim),
        ]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Infer the posterior of the rain latent.

        Args:
            x (Tensor): Rainy patches (B, 3, S, S), RGB in [0, 1], with
                ``S == image_size``.

        Returns:
            tuple[Tensor, Tensor]: ``mu`` and ``logvar`` (log-variance, not
            clamped), each (B, latent_dim).

        Raises:
            ValueError: If ``x`` is not (B, 3, image_size, image_size).
        """
        s = self.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.in_channels, s, s):
            raise ValueError(
                f'RainEncoder(image_size={s}) expects input of shape '
                f'(B, {self.in_channels}, {s}, {s}), got {tuple(x.shape)}')
        dist = self.main(x)
        return dist[:, :self.latent_dim], dist[:, self.latent_dim:]
