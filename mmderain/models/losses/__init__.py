# Copyright (c) mmderain contributors. All rights reserved.
from .bce_loss import BinaryCrossEntropyLoss
from .ssim_loss import SSIMLoss, gaussian_window, ssim
from .variational_losses import gaussian_kl_to_target, standard_normal_kl

__all__ = [
    'BinaryCrossEntropyLoss', 'SSIMLoss', 'gaussian_kl_to_target',
    'gaussian_window', 'ssim', 'standard_normal_kl'
]
