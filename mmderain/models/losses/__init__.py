# Copyright (c) mmderain contributors. All rights reserved.
"""Losses shared by several methods (method losses live with the method)."""
from .bce_loss import BinaryCrossEntropyLoss
from .dark_channel_loss import DarkChannelLoss
from .softmax_kl_loss import SoftmaxKLLoss
from .ssim_loss import SSIMLoss, gaussian_window, ssim
from .tv_loss import TVLoss

__all__ = [
    'BinaryCrossEntropyLoss', 'DarkChannelLoss', 'SoftmaxKLLoss', 'SSIMLoss',
    'TVLoss', 'gaussian_window', 'ssim'
]
