# Copyright (c) mmderain contributors. All rights reserved.
from .prenet import PReNet, convert_official_prenet

__all__ = ['PReNet', 'convert_official_prenet']
