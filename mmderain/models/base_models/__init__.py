# Copyright (c) mmderain contributors. All rights reserved.
"""Models every method builds on."""
from .base_derainer import DEFAULT_PREPROCESSOR, BaseDerainer, quantize

__all__ = ['BaseDerainer', 'DEFAULT_PREPROCESSOR', 'quantize']
