# Copyright (c) mmderain contributors. All rights reserved.
"""Anisotropic L1 total variation with zero padding (SSID-KD's
``Loss/TVLossL1.TVLossL1``)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS


@MODELS.register_module()
class TVLoss(nn.Module):
    """``loss_weight * (sum |dx| + sum |dy|)`` of zero-padded backward
    differences, per channel.

    SSID-KD's ``TVLossL1`` convolves each channel with ``[-1, 1, 0]``
    (``Loss/grad_conv.grad_conv_hor``, padding 1) and with its transpose
    (``grad_conv_vet``) and sums the absolute values (``l1_loss`` against
    zeros, ``size_average=False``)::

        dx[..., i, j] = x[..., i, j] - x[..., i, j - 1]
        dy[..., i, j] = x[..., i, j] - x[..., i - 1, j]

    with ``x`` = 0 outside the image, so the first column contributes
    ``|x[..., 0]|`` to ``dx`` and the first row ``|x[..., 0, :]|`` to ``dy``
    (the last column's forward neighbour has weight 0). Computed here as
    plain differences of a zero-padded copy (no convolution, any number of
    channels; the official convolutions are 3 to 3 channels with
    diagonal weights): values and gradients equal the official ones.

    mmagic 1.2.0 has no equal loss: ``mmagic.models.losses.tv_loss`` is the
    squared (L2) variation with replicate padding, averaged per sample, and
    ``MaskedTVLoss`` is an L1 mean over interior differences only (no
    ``|x|`` border terms) that requires a mask.

    Args:
        loss_weight (float): Multiplier of the loss (SSID-KD: 1e-6).
            Defaults to 1.0.
        reduction (str): ``'sum'`` (official), ``'mean'`` (``mean |dx| +
            mean |dy|``, i.e. the sum divided by the input's number of
            elements) or ``'none'`` (the map ``|dx| + |dy|``, the input's
            shape). Defaults to ``'sum'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'sum') -> None:
        super().__init__()
        if reduction not in ('sum', 'mean', 'none'):
            raise ValueError("reduction must be 'sum', 'mean' or 'none', "
                             f'got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Images (N, C, H, W).

        Returns:
            Tensor: The weighted loss (scalar, or (N, C, H, W) with
            ``reduction='none'``).
        """
        if pred.dim() != 4:
            raise ValueError('TVLoss needs (N, C, H, W) images, got shape '
                             f'{tuple(pred.shape)}')
        # one padded copy per direction: autograd then gives each pixel
        # fl(fl(gx[j] - gx[j + 1]) + fl(gy[i] - gy[i + 1])), the rounding
        # of the official two convolutions (bit-equal for any loss_weight)
        xp = F.pad(pred, (1, 0))
        yp = F.pad(pred, (0, 0, 1, 0))
        dx = (xp[..., 1:] - xp[..., :-1]).abs()
        dy = (yp[..., 1:, :] - yp[..., :-1, :]).abs()
        if self.reduction == 'sum':
            loss = dx.sum() + dy.sum()
        elif self.reduction == 'mean':
            loss = dx.mean() + dy.mean()
        else:
            loss = dx + dy
        return self.loss_weight * loss

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r})')
