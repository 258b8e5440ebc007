# Copyright (c) mmderain contributors. All rights reserved.
"""Non-official VRGNet components of the rain-generation experiments.

Configs load them with
``custom_imports = dict(imports=['projects.vrgnet_rain_generation.models'])``.
"""
from .critic_inputs import GTRainCriticInput, RainCriticInput
from .diversity_loss import (DiversitySensitiveLoss, diversity_ratio,
                             diversity_sensitive_loss)
from .rain_init import (GreyRainInit, VRGNetKaimingInit, tie_output_channels,
                        vrgnet_kaiming_init)

__all__ = [
    'DiversitySensitiveLoss', 'GTRainCriticInput', 'GreyRainInit',
    'RainCriticInput', 'VRGNetKaimingInit', 'diversity_ratio',
    'diversity_sensitive_loss', 'tie_output_channels', 'vrgnet_kaiming_init'
]
