# Copyright (c) mmderain contributors. All rights reserved.
"""The UNet backbone of Rain2Avoid (R2A).

Re-implementation of the default SDRL backbone of *Rain2Avoid:
Self-Supervised Single Image Deraining with Non-local Stochastic
Sampling* (Peng et al., official code:
ytpeng-aimlab/Rain2Avoid-Self-Supervised-Single-Image-Deraining-with-
Non-local-Stochastic-Sampling, ``Rain2Avoid(Single)/network.py``, class
``UNet``; the same file in ``Rain2Avoid(Multiple)``).

A four-level UNet in the style of partial-convolution inpainting networks
(the official units are called ``PCBActiv``, though the convolutions are
plain ones):

* encoder, each unit a strided convolution (no bias) + BN + ReLU:
  ``enc_1`` 7x7/2, 3 -> 64 (no BN); ``enc_2`` 5x5/2, 64 -> 128;
  ``enc_3`` 5x5/2, 128 -> 256; ``enc_4`` 3x3/2, 256 -> 512;
* decoder, for ``i = 4 .. 1``: nearest x2 upsampling, concatenation with
  the encoder output of level ``i - 1`` (the input image for ``i = 1``),
  then a 3x3 convolution (no bias) + BN + LeakyReLU(0.2): ``dec_4``
  768 -> 256, ``dec_3`` 384 -> 128, ``dec_2`` 192 -> 64; ``dec_1`` 67 -> 3
  is a 3x3 convolution with bias and nothing else.

The network predicts the clean image directly (no global residual) and
has 4,539,988 parameters. Every side of the input must be a multiple of
16 (four stride-2 levels): the official scripts fail otherwise, and this
module raises a :class:`ValueError`; models pad to :attr:`size_divisor`.

State-dict keys are the official ones (``enc_k.conv.weight``,
``enc_k.bn.*`` for ``k >= 2``, ``dec_k.conv.weight``, ``dec_k.bn.*`` for
``k >= 2``, ``dec_1.conv.{weight,bias}``), and the layers are created in
the official order with PyTorch's default initialisation (the official
``weights_init`` is never called), so under the same seed this module
starts from the official weights.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS

#: Negative slope of the decoder's LeakyReLU.
LEAKY_SLOPE = 0.2


def check_spatial_size(name: str, x: torch.Tensor, in_channels: int,
                       divisor: int) -> None:
    """Check an image batch for a backbone that needs a size multiple.

    Args:
        name (str): The network's name for the message.
        x (Tensor): The input, expected (N, ``in_channels``, H, W).
        in_channels (int): The expected number of channels.
        divisor (int): H and W must be multiples of it.

    Raises:
        ValueError: Naming the shape received and the multiple needed.
    """
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f'{name} expects images (N, {in_channels}, H, W), '
                         f'got {tuple(x.shape)}')
    h, w = x.shape[-2:]
    if h % divisor or w % divisor:
        raise ValueError(
            f'{name} needs H and W to be multiples of {divisor}, got '
            f'{h}x{w}: pad the input (e.g. the derainer\'s '
            f'pad_multiple={divisor}) or crop it')


class R2AConvBlock(nn.Module):
    """Convolution, optional batch norm, optional activation.

    The official ``PCBActiv`` unit: ``conv`` (``kernel_size``,
    ``stride``, padding ``kernel_size // 2``), then ``bn`` when
    ``norm`` is set, then the activation.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size (odd).
        stride (int): Convolution stride. Defaults to 1.
        norm (bool): Add ``nn.BatchNorm2d``. Defaults to True.
        act (str, optional): ``'relu'``, ``'leaky'`` (slope
            :data:`LEAKY_SLOPE`) or None. Defaults to ``'relu'``.
        bias (bool): Convolution bias. Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 norm: bool = True,
                 act: Optional[str] = 'relu',
                 bias: bool = False) -> None:
        super().__init__()
        if act not in ('relu', 'leaky', None):
            raise ValueError(f"act must be 'relu', 'leaky' or None, got "
                             f'{act!r}')
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            bias=bias)
        self.bn = nn.BatchNorm2d(out_channels) if norm else None
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the unit to features (N, C_in, H, W).

        Returns:
            Tensor: (N, C_out, H / stride, W / stride).
        """
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.act == 'relu':
            x = F.relu(x, inplace=True)
        elif self.act == 'leaky':
            x = F.leaky_relu(x, LEAKY_SLOPE, inplace=True)
        return x


@MODELS.register_module()
class R2AUNet(nn.Module):
    """Rain2Avoid's UNet (see the module docstring).

    Args:
        in_channels (int): Channels of the input and of the output.
            Defaults to 3.

    Attributes:
        size_divisor (int): H and W must be multiples of it (16).
    """

    #: H and W must be multiples of this (four stride-2 levels).
    size_divisor = 16
    #: (kernel size, output channels) of ``enc_1`` .. ``enc_4``.
    ENCODER = ((7, 64), (5, 128), (5, 256), (3, 512))

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f'in_channels must be >= 1, got {in_channels}')
        self.in_channels = in_channels
        widths = [in_channels]
        for k, (kernel, width) in enumerate(self.ENCODER, 1):
            self.add_module(
                f'enc_{k}',
                R2AConvBlock(widths[-1], width, kernel, stride=2, norm=k > 1))
            widths.append(width)
        # dec_k: up(output of level k) ++ skip from level k - 1
        out = widths[-1]
        for k in range(len(self.ENCODER), 0, -1):
            last = k == 1
            width = in_channels if last else widths[k - 1]
            self.add_module(
                f'dec_{k}',
                R2AConvBlock(
                    out + widths[k - 1],
                    width,
                    3,
                    norm=not last,
                    act=None if last else 'leaky',
                    bias=last))
            out = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Derain a batch.

        Args:
            x (Tensor): Rainy images (N, ``in_channels``, H, W), RGB in
                [0, 1], H and W multiples of :attr:`size_divisor`.

        Returns:
            Tensor: The derained images, same shape (not clamped).

        Raises:
            ValueError: If the shape is not (N, ``in_channels``, H, W) with
                H and W multiples of 16.
        """
        check_spatial_size('R2AUNet', x, self.in_channels, self.size_divisor)
        levels = len(self.ENCODER)
        feats = [x]
        for k in range(1, levels + 1):
            feats.append(getattr(self, f'enc_{k}')(feats[-1]))
        h = feats.pop()
        for k in range(levels, 0, -1):
            h = F.interpolate(h, scale_factor=2, mode='nearest')
            h = getattr(self, f'dec_{k}')(torch.cat((h, feats.pop()), 1))
        return h
