# Copyright (c) mmderain contributors. All rights reserved.
from .base_derainer import DEFAULT_PREPROCESSOR, BaseDerainer, quantize
from .coic import CoICDerainer
from .dlinet_derainer import DLINET_PREPROCESSOR, DLINetDerainer
from .vrgnet import VRGNet

__all__ = [
    'BaseDerainer', 'CoICDerainer', 'DEFAULT_PREPROCESSOR',
    'DLINET_PREPROCESSOR', 'DLINetDerainer', 'VRGNet', 'quantize'
]
