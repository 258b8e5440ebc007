# Copyright (c) mmderain contributors. All rights reserved.
"""Custom operators (pure-PyTorch reference + optional compiled paths),
Rain2Avoid's OpenCV rain mask (:func:`ldgp`), its compiled non-local
stochastic sampling (:func:`nss`), and separable running min/max filters
with max-pool gradients (:func:`min_filter`, :func:`max_filter`)."""
from .conv_relu import conv2d_relu
from .ldgp import dominant_angle, ldgp, patch_angles, rotate_bound
from .masked_pool import masked_global_pool, masked_global_pool_reference
from .min_filter import (max_filter, max_filter_reference, min_filter,
                         min_filter_reference)
from .modulated_conv import (coim_modulation, coim_modulation_reference,
                             instance_modulated_conv2d,
                             instance_modulated_conv2d_reference)
from .nss import OFFLINE_ETA, ONLINE_ETA, fuse_sdrs, nss, nss_reference

__all__ = [
    'coim_modulation', 'coim_modulation_reference', 'conv2d_relu',
    'dominant_angle', 'fuse_sdrs', 'instance_modulated_conv2d',
    'instance_modulated_conv2d_reference', 'ldgp', 'masked_global_pool',
    'masked_global_pool_reference', 'max_filter', 'max_filter_reference',
    'min_filter', 'min_filter_reference', 'nss', 'nss_reference',
    'OFFLINE_ETA', 'ONLINE_ETA', 'patch_angles', 'rotate_bound'
]
