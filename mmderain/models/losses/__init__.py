# Copyright (c) mmderain contributors. All rights reserved.
from .ssim_loss import SSIMLoss, gaussian_window, ssim

__all__ = ['SSIMLoss', 'gaussian_window', 'ssim']
