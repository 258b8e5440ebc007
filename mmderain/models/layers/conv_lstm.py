# Copyright (c) mmderain contributors. All rights reserved.
"""Convolutional LSTM cell shared by the recurrent backbones.

One step of a convolutional LSTM: the gate convolution sees the
concatenation of several inputs (the step's features, the cell's own
hidden state and, in BRN, the other branch's hidden state), and the gates
``(i, f, g, o)`` update the state::

    z = cat(x_parts)                     # official order, zeros for None
    i, f, o = sigmoid(W_{i,f,o} * z), g = tanh(W_g * z)
    c' = f * c + i * g,  h' = o * tanh(c')

Two parameterisations of the gate convolution keep the official
checkpoints' layouts:

* ``fused_gates=True``: one convolution ``gates`` with ``4 * channels``
  outputs, the gates concatenated in the order ``i, f, g, o`` (PReNet and
  VRGNet's derainer; their converters concatenate the official four);
* ``fused_gates=False``: four convolutions ``conv_i``, ``conv_f``,
  ``conv_g``, ``conv_o`` built by :func:`build_conv2d`, so that a
  ``conv_cfg`` can make them modulated layers (BRN, CoIC's ``BRN_CoIM``).

:meth:`ConvLSTMCell.forward` is the fast path: with plain ``nn.Conv2d``
gates, the four kernels run as one convolution and the parts that are
``None`` (zero states) are not convolved; the point-wise update is
:func:`~mmderain.ops.lstm_pointwise.lstm_pointwise` (one compiled pass on
CPU and one Triton kernel on CUDA without autograd). Other convolution
types (e.g. ``CoIMConv2d``, which also look at the mean of their whole
input) are called one by one on the zero-padded concatenation, exactly as
officially. :meth:`ConvLSTMCell.forward_reference` is the plain official
dataflow, for tests.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.ops.lstm_pointwise import (lstm_pointwise,
                                         lstm_pointwise_reference)
from mmderain.registry import MODELS
from .conv_builder import build_conv2d

#: Names of the four gate convolutions (``fused_gates=False``), in the
#: order of :func:`~mmderain.ops.lstm_pointwise.lstm_pointwise`.
GATE_NAMES = ('conv_i', 'conv_f', 'conv_g', 'conv_o')

_Parts = Sequence[Optional[torch.Tensor]]


@MODELS.register_module()
class ConvLSTMCell(nn.Module):
    """One step of a convolutional LSTM over several concatenated inputs.

    Args:
        channels (int): Channels of the hidden and cell states (and of each
            gate).
        part_channels (Sequence[int], optional): Channels of the inputs the
            gate convolution concatenates, in order. Defaults to
            ``(channels, channels)``: the step's features, then the cell's
            own hidden state (PReNet).
        kernel_size (int): Odd kernel size of the gate convolution(s),
            ``'same'`` padding. Defaults to 3.
        fused_gates (bool): One convolution ``gates`` with ``4 * channels``
            outputs (gates ``i, f, g, o`` in that order) instead of four
            convolutions ``conv_{i,f,g,o}``. Defaults to True.
        conv_cfg (dict, optional): Config of the gate convolution(s), for
            :func:`~mmderain.models.layers.build_conv2d`. Defaults to None
            (``nn.Conv2d``).

    Raises:
        ValueError: If a width is not positive or ``kernel_size`` is even.
    """

    def __init__(self,
                 channels: int,
                 part_channels: Optional[Sequence[int]] = None,
                 kernel_size: int = 3,
                 fused_gates: bool = True,
                 conv_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if part_channels is None:
            part_channels = (channels, channels)
        part_channels = tuple(int(p) for p in part_channels)
        if channels < 1 or not part_channels or min(part_channels) < 1:
            raise ValueError('channels and part_channels must be positive, '
                             f'got {channels} and {part_channels}')
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.channels = channels
        self.part_channels = part_channels
        self.fused_gates = fused_gates
        in_channels = sum(part_channels)

        def conv(cout: int) -> nn.Module:
            return build_conv2d(
                conv_cfg,
                in_channels,
                cout,
                kernel_size,
                stride=1,
                padding=kernel_size // 2,
                bias=True)

        if fused_gates:
            self.gates = conv(4 * channels)
        else:
            for name in GATE_NAMES:
                self.add_module(name, conv(channels))

    # ------------------------------------------------------------------ #
    def gate_convs(self) -> List[nn.Module]:
        """The gate convolution(s): ``[gates]`` or ``[conv_i, ..., conv_o]``.
        """
        if self.fused_gates:
            return [self.gates]
        return [getattr(self, name) for name in GATE_NAMES]

    def _check_parts(self, x_parts: _Parts) -> torch.Tensor:
        """Check the parts; returns the first one that is not ``None``."""
        if len(x_parts) != len(self.part_channels):
            raise ValueError(f'expected {len(self.part_channels)} inputs '
                             f'{self.part_channels}, got {len(x_parts)}')
        ref = next((p for p in x_parts if p is not None), None)
        if ref is None:
            raise ValueError('at least one input must not be None')
        widths = tuple(None if p is None else p.shape[1] for p in x_parts)
        if any(w is not None and w != e
               for w, e in zip(widths, self.part_channels)):
            raise ValueError(f'input widths {widths} do not match '
                             f'part_channels {self.part_channels}')
        return ref

    def _zero_padded(self, x_parts: _Parts) -> torch.Tensor:
        """The official concatenation, zeros standing for ``None`` parts."""
        ref = self._check_parts(x_parts)
        n, _, h, w = ref.shape
        full = [
            p if p is not None else ref.new_zeros(n, width, h, w)
            for p, width in zip(x_parts, self.part_channels)
        ]
        return full[0] if len(full) == 1 else torch.cat(full, 1)

    def _plain(self) -> bool:
        return all(type(m) is nn.Conv2d for m in self.gate_convs())

    def gates_preactivation(self, x_parts: _Parts) -> torch.Tensor:
        """Pre-activation gates ``(i, f, g, o)``, (N, 4 * channels, H, W).

        With plain ``nn.Conv2d`` gates: one convolution over the parts that
        are not ``None`` (the kernels of the four gates concatenated and
        the columns of the ``None`` parts dropped; exact, they would
        multiply zeros). Otherwise every gate convolution on the
        zero-padded concatenation.

        Args:
            x_parts (Sequence[Tensor | None]): The inputs, (N, C_k, H, W)
                each, ``None`` for zeros.

        Returns:
            Tensor: The gates.
        """
        convs = self.gate_convs()
        if not self._plain():
            full = self._zero_padded(x_parts)
            if len(convs) == 1:
                return convs[0](full)
            return torch.cat([conv(full) for conv in convs], 1)
        self._check_parts(x_parts)
        if len(convs) == 1:
            weight, bias = convs[0].weight, convs[0].bias
        else:
            weight = torch.cat([conv.weight for conv in convs], 0)
            bias = torch.cat([conv.bias for conv in convs], 0)
        keep = [k for k, p in enumerate(x_parts) if p is not None]
        if len(keep) < len(x_parts):
            bounds = [0]
            for width in self.part_channels:
                bounds.append(bounds[-1] + width)
            cols = [weight[:, bounds[k]:bounds[k + 1]] for k in keep]
            weight = cols[0] if len(cols) == 1 else torch.cat(cols, 1)
        inputs = [x_parts[k] for k in keep]
        inputs = inputs[0] if len(inputs) == 1 else torch.cat(inputs, 1)
        return F.conv2d(inputs, weight, bias, padding=convs[0].padding)

    def forward(
            self,
            x_parts: _Parts,
            c: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Advance the cell by one step (fast path).

        Args:
            x_parts (Sequence[Tensor | None]): The inputs of the gate
                convolution in the official concatenation order, e.g.
                ``(x, h)`` for PReNet and ``(f_r, h_r, h)`` for BRN's rain
                branch; ``None`` stands for zeros (a zero initial state).
            c (Tensor, optional): Cell state (N, channels, H, W); ``None``
                for zeros. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: The new hidden and cell states.

        Raises:
            ValueError: If the number or widths of the parts do not match
                ``part_channels``, or every part is ``None``.
        """
        gates = self.gates_preactivation(x_parts)
        return lstm_pointwise(gates, c, overwrite_gates=True)

    def forward_reference(self,
                          x_parts: _Parts,
                          c: Optional[torch.Tensor] = None
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The same step as the official code writes it (for tests).

        Zeros for ``None`` parts, the full concatenation, one convolution
        per gate (the slices of ``gates`` with ``fused_gates``) and the
        unfused point-wise update
        (:func:`~mmderain.ops.lstm_pointwise.lstm_pointwise_reference`).

        Args:
            x_parts (Sequence[Tensor | None]): As :meth:`forward`.
            c (Tensor, optional): As :meth:`forward`. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: The new hidden and cell states.
        """
        full = self._zero_padded(x_parts)
        if self.fused_gates:
            conv, k = self.gates, self.channels
            if self._plain():
                gates = [
                    F.conv2d(
                        full,
                        conv.weight[j * k:(j + 1) * k],
                        conv.bias[j * k:(j + 1) * k],
                        padding=conv.padding) for j in range(4)
                ]
            else:
                gates = [conv(full)]
        else:
            gates = [conv(full) for conv in self.gate_convs()]
        return lstm_pointwise_reference(torch.cat(gates, 1), c)
