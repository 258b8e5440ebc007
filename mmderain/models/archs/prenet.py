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

from mmderain.registry import MODELS


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM cell with one fused gate convolution.

    The four gates (input, forget, cell, output) are computed by a single
    3x3 convolution with ``4 * channels`` outputs, which is equivalent to the
    official four separate convolutions (their weights are concatenated by
    ``tools/convert/prenet.py``).

    Args:
        channels (int): Channels of the input features and of the state.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.gates = nn.Conv2d(2 * channels, 4 * channels, 3, 1, 1)

    def forward(self, x: torch.Tensor, h: torch.Tensor,
                c: torch.Tensor) -> tuple:
        """Advance the cell by one step.

        Args:
            x (Tensor): Input features (N, C, H, W).
            h (Tensor): Hidden state (N, C, H, W).
            c (Tensor): Cell state (N, C, H, W).

        Returns:
            tuple[Tensor, Tensor]: The new hidden and cell states.
        """
        i, f, g, o = self.gates(torch.cat((x, h), 1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to features (N, C, H, W)."""
        out = F.relu(self.conv2(F.relu(self.conv1(x))))
        return F.relu(out + x)


@MODELS.register_module()
class PReNet(nn.Module):
    """Progressive recurrent deraining network (PReNet / PRN and ``_r``).

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
    """

    def __init__(self,
                 num_stages: int = 6,
                 mid_channels: int = 32,
                 num_res_blocks: int = 5,
                 recurrent: Optional[str] = 'lstm',
                 share_res_blocks: bool = False,
                 in_channels: int = 3) -> None:
        super().__init__()
        if num_stages < 1:
            raise ValueError(f'num_stages must be >= 1, got {num_stages}')
        if recurrent not in ('lstm', None):
            raise ValueError(
                f"recurrent must be 'lstm' or None, got {recurrent!r}")
        self.num_stages = num_stages
        self.num_res_blocks = num_res_blocks
        self.share_res_blocks = share_res_blocks
        self.head = nn.Conv2d(2 * in_channels, mid_channels, 3, 1, 1)
        self.lstm = ConvLSTMCell(mid_channels) if recurrent else None
        num_distinct = 1 if share_res_blocks else num_res_blocks
        self.res_blocks = nn.ModuleList(
            ResBlock(mid_channels) for _ in range(num_distinct))
        self.tail = nn.Conv2d(mid_channels, in_channels, 3, 1, 1)

    def _refine(self, feat: torch.Tensor) -> torch.Tensor:
        for k in range(self.num_res_blocks):
            feat = self.res_blocks[0 if self.share_res_blocks else k](feat)
        return feat

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
        out = x
        h = c = None
        stages = []
        for _ in range(self.num_stages):
            feat = F.relu(self.head(torch.cat((x, out), 1)))
            if self.lstm is not None:
                if h is None:
                    h = torch.zeros_like(feat)
                    c = torch.zeros_like(feat)
                h, c = self.lstm(feat, h, c)
                feat = h
            out = self.tail(self._refine(feat)) + x
            stages.append(out)
        return stages if return_stages else out


_OFFICIAL_GATES = ('conv_i', 'conv_f', 'conv_g', 'conv_o')


def convert_official_prenet(official: dict) -> tuple:
    """Map a csdwren/PReNet state dict onto :class:`PReNet`.

    The official networks (``PReNet``, ``PReNet_r``, ``PRN``, ``PRN_r`` in
    ``networks.py``) name their layers ``conv0``, ``res_conv{k}``,
    ``conv_{i,f,g,o}`` and ``conv``; a ``module.`` prefix from
    ``nn.DataParallel`` is accepted. The four LSTM gate convolutions are
    concatenated (order i, f, g, o) into :class:`ConvLSTMCell`'s fused one.

    Args:
        official (dict): The official state dict.

    Returns:
        tuple[dict, dict]: The state dict of :class:`PReNet` and the
        generator arguments it implies (``recurrent``, ``share_res_blocks``,
        ``mid_channels``; ``num_stages`` is not stored in official files).

    Raises:
        KeyError: If the dict does not look like an official PReNet one.
    """
    sd = {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in official.items()
    }
    if 'conv0.0.weight' not in sd or 'conv.0.weight' not in sd:
        raise KeyError(
            'not an official PReNet state dict: expected keys '
            f"'conv0.0.weight' and 'conv.0.weight', got {list(sd)[:8]}")
    res_ids = sorted({
        int(k.split('.')[0][len('res_conv'):])
        for k in sd if k.startswith('res_conv')
    })
    if res_ids != list(range(1, len(res_ids) + 1)):
        raise KeyError(f'unexpected residual blocks res_conv{res_ids}')
    recurrent = 'lstm' if 'conv_i.0.weight' in sd else None
    out = {
        'head.weight': sd.pop('conv0.0.weight'),
        'head.bias': sd.pop('conv0.0.bias'),
        'tail.weight': sd.pop('conv.0.weight'),
        'tail.bias': sd.pop('conv.0.bias'),
    }
    for k in res_ids:
        for src, dst in (('0', 'conv1'), ('2', 'conv2')):
            for p in ('weight', 'bias'):
                out[f'res_blocks.{k - 1}.{dst}.{p}'] = sd.pop(
                    f'res_conv{k}.{src}.{p}')
    if recurrent:
        for p in ('weight', 'bias'):
            out[f'lstm.gates.{p}'] = torch.cat(
                [sd.pop(f'{g}.0.{p}') for g in _OFFICIAL_GATES], 0)
    if sd:
        raise KeyError(f'unexpected keys in official PReNet dict: {list(sd)}')
    args = dict(
        recurrent=recurrent,
        share_res_blocks=len(res_ids) == 1,
        mid_channels=out['head.weight'].shape[0])
    return out, args
