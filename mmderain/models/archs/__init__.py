# Copyright (c) mmderain contributors. All rights reserved.
from .dlinet import DLINet, convert_official_dlinet
from .prenet import PReNet, convert_official_prenet

__all__ = [
    'DLINet', 'PReNet', 'convert_official_dlinet', 'convert_official_prenet'
]
