# Copyright (c) mmderain contributors. All rights reserved.
from .bce_loss import BinaryCrossEntropyLoss
from .ssim_loss import SSIMLoss, gaussian_window, ssim

__all__ = ['BinaryCrossEntropyLoss', 'SSIMLoss', 'gaussian_window', 'ssim']
