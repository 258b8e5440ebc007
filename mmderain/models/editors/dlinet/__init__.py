# Copyright (c) mmderain contributors. All rights reserved.
"""DLINet (IEEE TIP 2024): rain location and intensity, two stages."""
from .dlinet_derainer import DLINET_PREPROCESSOR, DLINetDerainer
from .dlinet_net import DLINet

__all__ = ['DLINET_PREPROCESSOR', 'DLINet', 'DLINetDerainer']
