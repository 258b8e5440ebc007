# Copyright (c) mmderain contributors. All rights reserved.
"""Binary cross-entropy between predicted probabilities and {0, 1} labels."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS


@MODELS.register_module()
class BinaryCrossEntropyLoss(nn.Module):
    """``loss_weight * BCE(pred, target)`` on probabilities.

    Equivalent to ``loss_weight * torch.nn.BCELoss()(pred, target)``
    (log terms clamped at -100, as PyTorch does), e.g. DLINet's stage-2
    supervision of soft rain masks by the binary masks of the stage-1
    detector (``loss_weight=1e4``).

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
            Defaults to ``'mean'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError("reduction must be 'mean', 'sum' or 'none', "
                             f'got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, pred: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        """Loss of probabilities ``pred`` against labels ``target``.

        Args:
            pred (Tensor): Probabilities in [0, 1], any shape.
            target (Tensor): Labels in [0, 1], same shape.

        Returns:
            Tensor: The weighted loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} shapes differ')
        loss = F.binary_cross_entropy(
            pred, target.to(pred.dtype), reduction=self.reduction)
        return self.loss_weight * loss
