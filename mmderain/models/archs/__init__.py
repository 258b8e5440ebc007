# Copyright (c) mmderain contributors. All rights reserved.
"""Plain derainer backbones, one file each (trained by ``BaseDerainer``)."""
from .brn import BRN
from .prenet import PReNet

__all__ = ['BRN', 'PReNet']
