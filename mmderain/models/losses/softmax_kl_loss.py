# Copyright (c) mmderain contributors. All rights reserved.
"""KL divergence between channel-softmax distributions (SSID-KD's code
consistency term)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS


@MODELS.register_module()
class SoftmaxKLLoss(nn.Module):
    """KL divergence of channel softmaxes, ``KL(softmax(target) ||
    softmax(pred))`` at every position.

    SSID-KD's "distillation" term (``train_*_real.py``) is::

        F.kl_div(F.log_softmax(code_syn), F.softmax(code_real),
                 reduction='mean')

    on the (N, 48, h, w) codes of a synthetic and a real batch passed
    through the same network; the softmax dimension is implicit, i.e. 1
    (the channels) for 4-D codes. ``forward(code_syn, code_real)`` with the
    defaults reproduces it exactly: ``'mean'`` averages ``p_t (log p_t -
    log p_p)`` over all N C h w elements, so it is the per-position KL
    divided by C; neither side is detached, so gradients reach both codes
    (there is no separate teacher).

    Magnitudes: with C = 48 channels a per-position KL of 1.4e-3 (the
    spec's measurement on an untrained network, section 3.4) gives
    ``'mean'`` = 1.4e-3 / 48 = 2.9e-5, and with SSID-KD's weight 1e-6 a
    loss of 2.9e-11 (the spec measured 3.0e-11), against 1.05 for the
    ``20 * L1`` term: as coded the term is negligible.
    ``reduction='position_mean'`` gives the per-position KL (what
    ``'batchmean'`` gives when every position is a sample), C times
    ``'mean'``.

    Args:
        loss_weight (float): Multiplier of the loss (SSID-KD: 1e-6).
            Defaults to 1.0.
        reduction (str): ``'mean'`` (official: over all elements),
            ``'position_mean'`` (summed over channels, averaged over the N h
            w positions: the proper mean KL), ``'sum'`` or ``'none'``
            (element-wise, the input's shape). Defaults to ``'mean'``.
        detach_target (bool): Stop the gradient into ``code_target``.
            Defaults to False (official).
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 detach_target: bool = False) -> None:
        super().__init__()
        if reduction not in ('mean', 'position_mean', 'sum', 'none'):
            raise ValueError("reduction must be 'mean', 'position_mean', "
                             f"'sum' or 'none', got {reduction!r}")
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.detach_target = detach_target

    def forward(self, code_pred: torch.Tensor, code_target: torch.Tensor,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            code_pred (Tensor): Logits (N, C, ...) whose log-softmax is
                taken (SSID-KD: the synthetic batch's code).
            code_target (Tensor): Logits of the target distribution, same
                shape (SSID-KD: the real batch's code).

        Returns:
            Tensor: The weighted loss.

        Raises:
            ValueError: If the shapes differ or have fewer than 2 dims.
        """
        if code_pred.shape != code_target.shape or code_pred.dim() < 2:
            raise ValueError(
                'SoftmaxKLLoss needs two (N, C, ...) logits of one shape, '
                f'got {tuple(code_pred.shape)} and '
                f'{tuple(code_target.shape)}')
        if self.detach_target:
            code_target = code_target.detach()
        log_p = F.log_softmax(code_pred, dim=1)
        p_target = F.softmax(code_target, dim=1)
        # element-wise, then reduced: what kl_div(reduction='mean') does
        # inside, without its deprecation warning
        loss = F.kl_div(log_p, p_target, reduction='none')
        if self.reduction == 'mean':
            loss = loss.mean()
        elif self.reduction == 'sum':
            loss = loss.sum()
        elif self.reduction == 'position_mean':
            loss = loss.sum() / (loss.numel() // loss.shape[1])
        return self.loss_weight * loss

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}, '
                f'detach_target={self.detach_target})')
