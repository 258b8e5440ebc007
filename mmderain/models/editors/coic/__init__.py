# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC (ICLR 2024): contrastive encoder and instance-level modulation."""
from .coic_contrastive_loss import (CoICContrastiveLoss, contrastive_logits,
                                    detail_negatives, hardest_rain_negative)
from .coic_derainer import CoICDerainer
from .coic_encoder import CoICEncoder, MomentumEncoder
from .coim_conv import (CoIMConv2d, coim_layers, modulation_code,
                        modulation_param_names, split_modulation_params)

__all__ = [
    'CoICContrastiveLoss', 'CoICDerainer', 'CoICEncoder', 'CoIMConv2d',
    'MomentumEncoder', 'coim_layers', 'contrastive_logits', 'detail_negatives',
    'hardest_rain_negative', 'modulation_code', 'modulation_param_names',
    'split_modulation_params'
]
