# Copyright (c) mmderain contributors. All rights reserved.
"""Reusable layers shared by several networks."""
from .coim_conv import (CoIMConv2d, coim_layers, modulation_code,
                        modulation_param_names, split_modulation_params)
from .conv_builder import build_conv2d

__all__ = [
    'CoIMConv2d', 'build_conv2d', 'coim_layers', 'modulation_code',
    'modulation_param_names', 'split_modulation_params'
]
