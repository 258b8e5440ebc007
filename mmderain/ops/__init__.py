# Copyright (c) mmderain contributors. All rights reserved.
"""Custom operators (pure-PyTorch reference + optional compiled paths)."""
from .conv_relu import conv2d_relu
from .masked_pool import masked_global_pool, masked_global_pool_reference

__all__ = ['conv2d_relu', 'masked_global_pool', 'masked_global_pool_reference']
