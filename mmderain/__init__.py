# Copyright (c) mmderain contributors. All rights reserved.
"""mmderain: single-image deraining on the OpenMMLab stack."""
from .version import __version__

__all__ = ['__version__']
