# Copyright (c) mmderain contributors. All rights reserved.
"""Models every method builds on."""
from .base_derainer import DEFAULT_PREPROCESSOR, BaseDerainer, quantize
from .multi_optim_derainer import MultiOptimDerainer

__all__ = [
    'BaseDerainer', 'DEFAULT_PREPROCESSOR', 'MultiOptimDerainer', 'quantize'
]
