# Copyright (c) mmderain contributors. All rights reserved.
"""Custom operators (pure-PyTorch reference + optional compiled paths)."""
from .masked_pool import masked_global_pool, masked_global_pool_reference

__all__ = ['masked_global_pool', 'masked_global_pool_reference']
