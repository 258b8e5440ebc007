# Copyright (c) mmderain contributors. All rights reserved.
"""Custom operators (pure-PyTorch reference + optional compiled paths)."""
from .conv_relu import conv2d_relu
from .masked_pool import masked_global_pool, masked_global_pool_reference
from .modulated_conv import (coim_modulation, coim_modulation_reference,
                             instance_modulated_conv2d,
                             instance_modulated_conv2d_reference)
from .nss import OFFLINE_ETA, ONLINE_ETA, fuse_sdrs, nss, nss_reference

__all__ = [
    'coim_modulation', 'coim_modulation_reference', 'conv2d_relu',
    'instance_modulated_conv2d', 'instance_modulated_conv2d_reference',
    'masked_global_pool', 'masked_global_pool_reference', 'nss',
    'nss_reference', 'fuse_sdrs', 'OFFLINE_ETA', 'ONLINE_ETA'
]
