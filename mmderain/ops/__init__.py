# Copyright (c) mmderain contributors. All rights reserved.
"""Custom operators (pure-PyTorch reference + optional compiled paths) and
the OpenCV rain-mask operator of Rain2Avoid (:func:`ldgp`)."""
from .conv_relu import conv2d_relu
from .ldgp import dominant_angle, ldgp, patch_angles, rotate_bound
from .masked_pool import masked_global_pool, masked_global_pool_reference
from .modulated_conv import (coim_modulation, coim_modulation_reference,
                             instance_modulated_conv2d,
                             instance_modulated_conv2d_reference)

__all__ = [
    'coim_modulation', 'coim_modulation_reference', 'conv2d_relu',
    'dominant_angle', 'instance_modulated_conv2d',
    'instance_modulated_conv2d_reference', 'ldgp', 'masked_global_pool',
    'masked_global_pool_reference', 'patch_angles', 'rotate_bound'
]
