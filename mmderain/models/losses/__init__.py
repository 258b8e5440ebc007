# Copyright (c) mmderain contributors. All rights reserved.
from .bce_loss import BinaryCrossEntropyLoss
from .coic_contrastive_loss import (CoICContrastiveLoss, contrastive_logits,
                                    detail_negatives, hardest_rain_negative)
from .diversity_loss import diversity_ratio, diversity_sensitive_loss
from .ssim_loss import SSIMLoss, gaussian_window, ssim
from .variational_losses import gaussian_kl_to_target, standard_normal_kl

__all__ = [
    'BinaryCrossEntropyLoss', 'CoICContrastiveLoss', 'SSIMLoss',
    'contrastive_logits', 'detail_negatives', 'diversity_ratio',
    'diversity_sensitive_loss', 'gaussian_kl_to_target',
    'gaussian_window', 'hardest_rain_negative', 'ssim', 'standard_normal_kl'
]
