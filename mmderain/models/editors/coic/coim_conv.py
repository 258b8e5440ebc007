# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC's CoI-M layer: a convolution modulated per sample by a code ``z``.

:class:`CoIMConv2d` is an ``nn.Conv2d`` (same ``weight``/``bias`` keys)
with an MLP ``g2pa`` (official ``TConv``, ``models/CoIM.py`` of
``Schizophreni/CoIC``). While a code ``z`` (B, code_dim) is set, every
k x k kernel is reweighted per sample::

    s        = cat(z_b, mean_{h,w}(x_b))              (code_dim + C_in)
    w1|w2|w3 = g2pa(s) split as C_out | C_in/G | k*k
    y_b      = conv2d(x_b, W * A(w1, w2, w3), bias)   (bias not modulated)

with ``A`` of :func:`~mmderain.ops.coim_modulation`. Without a code the
layer is the plain convolution (official ``mode='normal'``, CoIC's warm-up
and the baseline). Like the official code, 1x1 convolutions own a ``g2pa``
but are never modulated.

The code reaches every layer of a backbone without changing its forward
signature: :func:`modulation_code` sets it on all CoIMConv2d submodules
for the duration of a ``with`` block.
"""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.ops import instance_modulated_conv2d
from mmderain.registry import MODELS

#: Name of the modulation MLP; parameters whose name contains it belong to
#: the "tran" optimiser (official rule: ``'g2pa' in name``).
MODULATION_KEY = 'g2pa'


@MODELS.register_module()
class CoIMConv2d(nn.Conv2d):
    """Convolution modulated per instance by a code (CoIC's ``TConv``).

    Parameters: ``weight`` and ``bias`` as ``nn.Conv2d`` (official
    ``base_conv.conv``) and ``g2pa`` (official ``g2pa_wgen``)::

        Linear(code_dim + C_in, hidden), ReLU, Linear(hidden, 16), ReLU,
        Linear(16, C_in/G + C_out + kh*kw)

    with ``hidden = C_out`` for ``groups == 1`` and ``C_out // 16``
    otherwise.

    Args:
        in_channels (int): Input channels ``C_in``.
        out_channels (int): Output channels ``C_out``.
        kernel_size (int | tuple[int]): Kernel size.
        stride (int | tuple[int]): Stride. Defaults to 1.
        padding (int | tuple[int] | str): Padding. Defaults to 0.
        dilation (int | tuple[int]): Dilation. Defaults to 1.
        groups (int): Groups ``G``. Defaults to 1.
        bias (bool): Learn a bias. Defaults to True.
        code_dim (int): Dimension of the code ``z``. Defaults to 128.
        padding_mode (str): As ``nn.Conv2d``. Defaults to ``'zeros'``.

    Raises:
        ValueError: If ``groups > 1`` and ``out_channels < 16`` (the
            official hidden width ``C_out // 16`` would be 0), or
            ``code_dim < 1``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size,
                 stride=1,
                 padding=0,
                 dilation=1,
                 groups: int = 1,
                 bias: bool = True,
                 code_dim: int = 128,
                 padding_mode: str = 'zeros') -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode)
        if code_dim < 1:
            raise ValueError(f'code_dim must be >= 1, got {code_dim}')
        hidden = out_channels if groups == 1 else out_channels // 16
        if hidden < 1:
            raise ValueError(
                f'CoIMConv2d with groups={groups} needs out_channels >= 16 '
                f'(the MLP hidden width is out_channels // 16), got '
                f'{out_channels}')
        self.code_dim = code_dim
        kh, kw = self.kernel_size
        self.g2pa = nn.Sequential(
            nn.Linear(code_dim + in_channels, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 16), nn.ReLU(inplace=True),
            nn.Linear(16, in_channels // groups + out_channels + kh * kw))
        self.code: Optional[torch.Tensor] = None

    @property
    def modulated(self) -> bool:
        """Whether a code changes this layer (False for 1x1 kernels)."""
        return self.kernel_size[0] * self.kernel_size[1] > 1

    def modulation_vectors(
            self, x: torch.Tensor, code: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The MLP's ``(w1, w2, w3)`` for input ``x`` and code ``code``.

        Args:
            x (Tensor): Layer input (B, C_in, H, W).
            code (Tensor): Code (B, code_dim).

        Returns:
            tuple[Tensor]: ``w1`` (B, C_out), ``w2`` (B, C_in/G) and ``w3``
            (B, kh*kw), split from the MLP output in this order (official
            ``TConv``).

        Raises:
            ValueError: If the shapes do not match.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects an input '
                             f'(B, {self.in_channels}, H, W), got '
                             f'{tuple(x.shape)}')
        if code.dim() != 2 or code.shape != (x.shape[0], self.code_dim):
            raise ValueError(
                f'{type(self).__name__}: the modulation code must be '
                f'(B, code_dim) = ({x.shape[0]}, {self.code_dim}) for an '
                f'input of batch {x.shape[0]}, got {tuple(code.shape)}')
        stats = x.mean(dim=(2, 3))
        a = self.g2pa(torch.cat([code.to(stats.dtype), stats], dim=-1))
        c_out, c_in_g = self.out_channels, self.in_channels // self.groups
        return a[:, :c_out], a[:, c_out:c_out + c_in_g], a[:, c_out + c_in_g:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Modulated convolution while a code is set, plain otherwise.

        Args:
            x (Tensor): Input (B, C_in, H, W).

        Returns:
            Tensor: Output (B, C_out, H', W').
        """
        if self.code is None or not self.modulated:
            return super().forward(x)
        w1, w2, w3 = self.modulation_vectors(x, self.code)
        padding = self.padding
        if self.padding_mode != 'zeros':
            x = F.pad(
                x,
                self._reversed_padding_repeated_twice,
                mode=self.padding_mode)
            padding = 0
        return instance_modulated_conv2d(x, self.weight, self.bias, w1, w2, w3,
                                         self.stride, padding, self.dilation,
                                         self.groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f', code_dim={self.code_dim}'


def coim_layers(module: nn.Module) -> List[CoIMConv2d]:
    """All :class:`CoIMConv2d` submodules of ``module`` (itself included)."""
    return [m for m in module.modules() if isinstance(m, CoIMConv2d)]


@contextmanager
def modulation_code(module: nn.Module,
                    code: Optional[torch.Tensor]) -> Iterator[nn.Module]:
    """Modulate every :class:`CoIMConv2d` of ``module`` with ``code``.

    Inside the block each layer uses ``code``; on exit (also on an
    exception) every layer gets back the code it had before (none outside
    any block: plain convolutions). Blocks may be nested. The code is not
    detached: gradients flow back to whatever produced it (the encoder).

    Example::

        with modulation_code(backbone, z):   # z: (B, code_dim)
            out = backbone(x)                # x: (B, 3, H, W)

    Args:
        module (nn.Module): The backbone (or any module).
        code (Tensor, optional): Codes (B, code_dim); ``None`` runs the plain
            convolutions inside the block.

    Yields:
        nn.Module: ``module``.

    Raises:
        ValueError: If ``code`` is not 2-D or its size differs from a
            layer's ``code_dim``.
        TypeError: If ``code`` is neither a tensor nor None.
    """
    layers = coim_layers(module)
    if code is not None:
        if not isinstance(code, torch.Tensor):
            raise TypeError('code must be a Tensor (B, code_dim) or None, '
                            f'got {type(code).__name__}')
        if code.dim() != 2:
            raise ValueError('code must be (B, code_dim), got '
                             f'{tuple(code.shape)}')
        dims = sorted({m.code_dim for m in layers} - {code.shape[1]})
        if dims:
            raise ValueError(f'code of dimension {code.shape[1]} does not '
                             f'match CoIMConv2d layers with code_dim {dims}')
    previous = [m.code for m in layers]
    try:
        for m in layers:
            m.code = code
        yield module
    finally:
        for m, prev in zip(layers, previous):
            m.code = prev


def modulation_param_names(module: nn.Module,
                           trainable_only: bool = True) -> List[str]:
    """Names of the parameters of ``module`` that belong to the modulation.

    The parameters of every :class:`CoIMConv2d`'s ``g2pa`` MLP, named as in
    ``module.named_parameters()``: CoIC trains them with the encoder (the
    official "tran" optimiser), the rest of the backbone with the "base"
    optimiser.

    Args:
        module (nn.Module): The backbone.
        trainable_only (bool): Only parameters with ``requires_grad`` (as
            the official split). Defaults to True.

    Returns:
        list[str]: The names, in ``named_parameters()`` order.
    """
    ids = {
        id(p)
        for m in coim_layers(module)
        for p in getattr(m, MODULATION_KEY).parameters()
    }
    return [
        n for n, p in module.named_parameters()
        if id(p) in ids and (p.requires_grad or not trainable_only)
    ]


def split_modulation_params(
        module: nn.Module) -> Tuple[List[nn.Parameter], List[nn.Parameter]]:
    """Trainable parameters split into ``(base, modulation)``.

    Args:
        module (nn.Module): The backbone.

    Returns:
        tuple[list[Parameter], list[Parameter]]: The backbone without the
        ``g2pa`` MLPs, and the ``g2pa`` MLPs (:func:`modulation_param_names`).
    """
    names = set(modulation_param_names(module))
    base, tran = [], []
    for n, p in module.named_parameters():
        if p.requires_grad:
            (tran if n in names else base).append(p)
    return base, tran
