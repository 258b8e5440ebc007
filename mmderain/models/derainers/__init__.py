# Copyright (c) mmderain contributors. All rights reserved.
from .base_derainer import DEFAULT_PREPROCESSOR, BaseDerainer, quantize

__all__ = ['BaseDerainer', 'DEFAULT_PREPROCESSOR', 'quantize']
