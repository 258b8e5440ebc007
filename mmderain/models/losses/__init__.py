# Copyright (c) mmderain contributors. All rights reserved.
"""Losses shared by several methods (method losses live with the method)."""
from .bce_loss import BinaryCrossEntropyLoss
from .ssim_loss import SSIMLoss, gaussian_window, ssim

__all__ = ['BinaryCrossEntropyLoss', 'SSIMLoss', 'gaussian_window', 'ssim']
