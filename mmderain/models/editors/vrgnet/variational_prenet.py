# Copyright (c) mmderain contributors. All rights reserved.
"""Variational PReNet: the derainer (BNet) of VRGNet.

Re-implementation of the background network of *From Rain Generation to Rain
Removal* (Wang et al., CVPR 2021, official code: hongwang01/VRGNet,
``for_syn/prenet.py``, wrapped as ``Derain`` in ``vrgnet.py``).

It is :class:`~mmderain.models.archs.prenet.PReNet` (ConvLSTM recurrence,
distinct residual blocks, weights shared across stages) whose last stage
predicts a Gaussian posterior over the clean image instead of a point
estimate: a separate ``tail_var`` convolution outputs ``2 * in_channels``
channels, ``mu = out[:, :C] + x`` and ``logvar = out[:, C:]``. Stages
``1..T-1`` use the shared ``tail`` with ``out = tail(feat) + x`` as PReNet
does. The derained image is ``mu`` (the official test script clamps it to
[0, 1]; this module does not).

The official network hard-codes 6 stages (5 loop iterations plus the final
one) whatever its ``recurrent_iter`` argument says; ``num_stages=6`` is the
default here.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn

from mmderain.models.archs.prenet import PReNet
from mmderain.registry import MODELS

#: Stages of every official VRGNet derainer (hard-coded in ``prenet.py``).
OFFICIAL_NUM_STAGES = 6


@MODELS.register_module()
class VariationalPReNet(PReNet):
    """VRGNet's derainer: PReNet predicting ``(mu, logvar)`` at the end.

    With the defaults it has 170,697 parameters, as the official ``Derain``
    module.

    Args:
        num_stages (int): Number of progressive stages ``T``. Defaults to 6.
        mid_channels (int): Feature channels. Defaults to 32.
        num_res_blocks (int): Distinct residual blocks per stage. Defaults
            to 5.
        in_channels (int): Image channels. Defaults to 3.
        channels_last (bool, optional): See :class:`PReNet`. Defaults to
            None (automatic).
    """

    def __init__(self,
                 num_stages: int = 6,
                 mid_channels: int = 32,
                 num_res_blocks: int = 5,
                 in_channels: int = 3,
                 channels_last: Optional[bool] = None) -> None:
        super().__init__(
            num_stages=num_stages,
            mid_channels=mid_channels,
            num_res_blocks=num_res_blocks,
            recurrent='lstm',
            share_res_blocks=False,
            in_channels=in_channels,
            channels_last=channels_last)
        self.tail_var = nn.Conv2d(mid_channels, 2 * in_channels, 3, 1, 1)

    def _predict(self, feat: torch.Tensor, x: torch.Tensor, last: bool,
                 track: bool) -> torch.Tensor:
        """``tail(feat) + x``, or the raw ``tail_var(feat)`` at the end."""
        if last:
            return self.tail_var(feat)
        return super()._predict(feat, x, last, track)

    def forward(
        self,
        x: torch.Tensor,
        return_logvar: bool = False,
        return_stages: bool = False
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor],
               List[torch.Tensor], Tuple[List[torch.Tensor], torch.Tensor]]:
        """Derain a batch.

        Args:
            x (Tensor): Rainy images (N, C, H, W), RGB in [0, 1].
            return_logvar (bool): Also return the predicted log-variance of
                the clean image. Defaults to False.
            return_stages (bool): Return the estimate of every stage (the
                last one is ``mu``) instead of only ``mu``. Defaults to
                False.

        Returns:
            Tensor | tuple | list[Tensor]: ``mu`` (N, C, H, W), not clamped;
            with ``return_stages`` the list of the ``num_stages`` estimates;
            with ``return_logvar`` a pair whose second item is ``logvar``
            (N, C, H, W).
        """
        stages = self._run_stages(x)
        c = self.in_channels
        raw = stages.pop()
        mu = raw[:, :c] + x
        logvar = raw[:, c:]
        result = stages + [mu] if return_stages else mu
        return (result, logvar) if return_logvar else result
