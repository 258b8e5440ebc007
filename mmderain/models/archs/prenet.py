# Copyright (c) mmderain contributors. All rights reserved.
"""PReNet family: progressive recurrent deraining networks.

Re-implementation of *Progressive Image Deraining Networks: A Better and
Simpler Baseline* (Ren et al., CVPR 2019, official code: csdwren/PReNet).

Every stage takes the rainy input concatenated with the previous stage's
estimate (6 channels), extracts features, optionally passes them through a
convolutional LSTM that carries state across stages, refines them with
residual blocks and predicts a residual that is added to the rainy input.

The four published variants are one class with two switches:

=========  ==================  ===========================
variant    ``recurrent``       ``share_res_blocks``
=========  ==================  ===========================
PReNet     ``'lstm'``          ``False`` (5 distinct blocks)
PReNet_r   ``'lstm'``          ``True``  (1 block, 5 times)
PRN        ``None``            ``False``
PRN_r      ``None``            ``True``
=========  ==================  ===========================

Inputs and outputs are RGB images in [0, 1], shape (N, 3, H, W); any spatial
size works (no padding needed). The output is not clamped.
"""
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.layers import ConvLSTMCell
from mmderain.ops import conv2d_relu
from mmderain.registry import MODELS


def _records_grad(x: torch.Tensor, module: nn.Module) -> bool:
    """Whether autograd records a graph through ``module`` applied to ``x``.

    When it does not (``torch.no_grad``/``inference_mode``, or frozen
    weights and an input without gradient), the fast paths below may work in
    place on their temporaries.
    """
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(p.requires_grad for p in module.parameters())


class ResBlock(nn.Module):
    """Two 3x3 conv + ReLU layers with an identity shortcut and a final ReLU.

    Computes ``relu(relu(conv2(relu(conv1(x)))) + x)`` as in PReNet.

    Args:
        channels (int): Feature channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self,
                x: torch.Tensor,
                nonneg_input: bool = False) -> torch.Tensor:
        """Apply the block to features (N, C, H, W).

        Args:
            x (Tensor): Input features (N, C, H, W).
            nonneg_input (bool): The caller guarantees ``x >= 0`` (e.g. it
                is a ReLU output). Without autograd the final ReLU is then
                skipped, which is exact: ``relu(conv2(...)) + x >= 0``.
                With autograd it is kept (ReLU's gradient at 0 is 0).
                Defaults to False.

        Returns:
            Tensor: The block output (N, C, H, W).
        """
        if _records_grad(x, self):
            out = F.relu(self.conv2(F.relu(self.conv1(x))))
            return F.relu(out + x)
        out = conv2d_relu(
            conv2d_relu(x, self.conv1.weight, self.conv1.bias),
            self.conv2.weight, self.conv2.bias).add_(x)
        return out if nonneg_input else out.relu_()


@MODELS.register_module()
class PReNet(nn.Module):
    """Progressive recurrent deraining network (PReNet / PRN and ``_r``).

    The forward pass is computed exactly as the official one (up to float
    rounding) but faster:

    * the LSTM gates are one convolution (the official four concatenated,
      order i, f, g, o: key ``lstm.gates``) and one fused point-wise update
      (:class:`~mmderain.models.layers.ConvLSTMCell`), and the first stage
      skips the zero state;
    * without autograd, ReLUs are fused into the convolutions on CPU
      (:func:`~mmderain.ops.conv2d_relu`), additions work in place and
      redundant ReLUs of non-negative sums are skipped;
    * for CPU inference, features are kept channels-last, which oneDNN
      convolutions run without reordering (much faster than NCHW).

    Args:
        num_stages (int): Number of progressive stages ``T``. Defaults to 6.
        mid_channels (int): Feature channels. Defaults to 32.
        num_res_blocks (int): Residual blocks (or applications of the shared
            block) per stage. Defaults to 5.
        recurrent (str, optional): ``'lstm'`` for PReNet, ``None`` for PRN.
            Defaults to ``'lstm'``.
        share_res_blocks (bool): Apply one residual block
            ``num_res_blocks`` times (the ``_r`` variants). Defaults to False.
        in_channels (int): Image channels. Defaults to 3.
        channels_last (bool, optional): Compute in the channels-last memory
            format. ``None`` (default) uses it for inference (no autograd
            graph) on float32/bfloat16 CPU inputs when oneDNN is available,
            where it is much faster; it does not speed up CPU training.
            Outputs are always contiguous.
    """

    def __init__(self,
                 num_stages: int = 6,
                 mid_channels: int = 32,
                 num_res_blocks: int = 5,
                 recurrent: Optional[str] = 'lstm',
                 share_res_blocks: bool = False,
                 in_channels: int = 3,
                 channels_last: Optional[bool] = None) -> None:
        super().__init__()
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        if recurrent not in ('lstm', None):
            raise ValueError(
                f"recurrent must be 'lstm' or None, got {recurrent!r}")
        self.num_stages = num_stages
        self.num_res_blocks = num_res_blocks
        self.share_res_blocks = share_res_blocks
        self.in_channels = in_channels
        self.channels_last = channels_last
        self.head = nn.Conv2d(2 * in_channels, mid_channels, 3, 1, 1)
        self.lstm = ConvLSTMCell(
            mid_channels, fused_gates=True) if recurrent else None
        num_distinct = 1 if share_res_blocks else num_res_blocks
        self.res_blocks = nn.ModuleList(
            ResBlock(mid_channels) for _ in range(num_distinct))
        self.tail = nn.Conv2d(mid_channels, in_channels, 3, 1, 1)

    def _memory_format(self, x: torch.Tensor,
                       track: bool) -> torch.memory_format:
        use = self.channels_last
        if use is None:
            use = (not track and x.device.type == 'cpu'
                   and x.dtype in (torch.float32, torch.bfloat16)
                   and torch.backends.mkldnn.is_available())
        return torch.channels_last if use else torch.contiguous_format

    def _refine(self, feat: torch.Tensor, nonneg: bool) -> torch.Tensor:
        for k in range(self.num_res_blocks):
            block = self.res_blocks[0 if self.share_res_blocks else k]
            feat = block(feat, nonneg_input=nonneg or k > 0)
        return feat

    def _predict(self, feat: torch.Tensor, x: torch.Tensor, last: bool,
                 track: bool) -> torch.Tensor:
        """A stage's output from its refined features ``feat``.

        Args:
            feat (Tensor): Refined features (N, mid_channels, H, W).
            x (Tensor): The rainy input (N, C, H, W).
            last (bool): Whether this is the last stage.
            track (bool): Whether autograd records the graph.

        Returns:
            Tensor: ``tail(feat) + x``; subclasses may predict more channels
            at the last stage (that output is not fed back).
        """
        out = self.tail(feat)
        return out + x if track else out.add_(x)

    def _run_stages(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Run every stage; returns the contiguous output of each."""
        track = _records_grad(x, self)
        x = x.contiguous(memory_format=self._memory_format(x, track))
        out, h, c = x, None, None
        stages = []
        for s in range(self.num_stages):
            feat = torch.cat((x, out), 1)
            if track:
                feat = F.relu(self.head(feat))
            else:
                feat = conv2d_relu(feat, self.head.weight, self.head.bias)
            if self.lstm is not None:
                h, c = self.lstm((feat, h), c)
                feat = h
            feat = self._refine(feat, nonneg=self.lstm is None)
            out = self._predict(feat, x, s == self.num_stages - 1, track)
            stages.append(out)
        return [o.contiguous() for o in stages]

    def forward(
        self,
        x: torch.Tensor,
        return_stages: bool = False
    ) -> Union[torch.Tensor, List[torch.Tensor]]:
        """Derain a batch.

        Args:
            x (Tensor): Rainy images (N, C, H, W), RGB in [0, 1].
            return_stages (bool): Return the estimate of every stage instead
                of only the last one. Defaults to False.

        Returns:
            Tensor | list[Tensor]: The derained estimate (N, C, H, W), or the
            list of the ``num_stages`` estimates, last one last.
        """
        stages = self._run_stages(x)
        return stages if return_stages else stages[-1]
