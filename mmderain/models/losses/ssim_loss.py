# Copyright (c) mmderain contributors. All rights reserved.
"""Differentiable SSIM loss (the training criterion of PReNet and others)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS


def gaussian_window(window_size: int, sigma: float) -> torch.Tensor:
    """Normalised 2-D Gaussian window of shape (window_size, window_size)."""
    coords = torch.arange(window_size, dtype=torch.float64) - window_size // 2
    g = torch.exp(-coords**2 / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def ssim(pred: torch.Tensor,
         target: torch.Tensor,
         window: torch.Tensor,
         data_range: float = 1.0,
         reduction: str = 'mean') -> torch.Tensor:
    """SSIM with 'same' zero padding, computed per channel.

    This is the formulation of the widely used ``pytorch_ssim`` package that
    PReNet's official training uses (padding ``window_size // 2``, mean over
    channels and pixels). For evaluation use
    :mod:`mmderain.evaluation.functional`, which follows MATLAB instead.

    Args:
        pred (Tensor): Images (N, C, H, W).
        target (Tensor): Images (N, C, H, W) in the same range as ``pred``.
        window (Tensor): 2-D window (k, k).
        data_range (float): Dynamic range of the images. Defaults to 1.0.
        reduction (str): ``'mean'`` for one scalar, ``'none'`` for one value
            per sample. Defaults to ``'mean'``.

    Returns:
        Tensor: SSIM value(s).
    """
    if pred.shape != target.shape:
        raise ValueError(f'SSIM needs equal shapes, got {tuple(pred.shape)} '
                         f'and {tuple(target.shape)}')
    channels = pred.shape[1]
    k = window.shape[-1]
    w = window.to(pred).expand(channels, 1, k, k).contiguous()

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, w, padding=k // 2, groups=channels)

    mu1, mu2 = filt(pred), filt(target)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = filt(pred * pred) - mu1_sq
    sigma2_sq = filt(target * target) - mu2_sq
    sigma12 = filt(pred * target) - mu12
    c1 = (0.01 * data_range)**2
    c2 = (0.03 * data_range)**2
    ssim_map = ((2 * mu12 + c1) *
                (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) *
                                       (sigma1_sq + sigma2_sq + c2))
    if reduction == 'mean':
        return ssim_map.mean()
    if reduction == 'none':
        return ssim_map.flatten(1).mean(1)
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


@MODELS.register_module()
class SSIMLoss(nn.Module):
    """Negative-SSIM loss.

    ``loss = -loss_weight * SSIM(pred, target)`` as in PReNet's official
    training (``loss = -criterion(target, out)``), or, with
    ``negative=False``, ``loss_weight * (1 - SSIM)``; both have the same
    gradient, the first reproduces the official loss values.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        window_size (int): Gaussian window size. Defaults to 11.
        sigma (float): Gaussian sigma. Defaults to 1.5.
        data_range (float): Dynamic range of the inputs. Defaults to 1.0.
        negative (bool): Return ``-SSIM`` (True) or ``1 - SSIM`` (False).
            Defaults to True.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 window_size: int = 11,
                 sigma: float = 1.5,
                 data_range: float = 1.0,
                 negative: bool = True) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.data_range = data_range
        self.negative = negative
        self.register_buffer(
            'window',
            gaussian_window(window_size, sigma).float(),
            persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted images (N, C, H, W).
            target (Tensor): Ground-truth images (N, C, H, W).

        Returns:
            Tensor: Scalar loss.
        """
        value = ssim(pred, target, self.window, self.data_range)
        loss = -value if self.negative else 1 - value
        return self.loss_weight * loss

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(loss_weight={self.loss_weight}, '
                f'negative={self.negative})')
