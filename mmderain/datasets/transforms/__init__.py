# Copyright (c) mmderain contributors. All rights reserved.
"""Data transforms of mmderain (registered in the ``mmderain`` scope)."""
from .check import CheckPairedSize, check_paired_size
from .crop import PairedRandomCrop, crop_to_multiple
from .loading import LoadImageFromFile, read_image
from .rain_synthesis import AddRainStreaks, line_kernel, synthesize_rain
from .sdr import GenerateSDRs, LoadSDRs, PickSDR
from .side_by_side import SplitSideBySide

__all__ = [
    'AddRainStreaks', 'CheckPairedSize', 'GenerateSDRs', 'LoadImageFromFile',
    'LoadSDRs', 'PairedRandomCrop', 'PickSDR', 'SplitSideBySide',
    'check_paired_size', 'crop_to_multiple', 'line_kernel', 'read_image',
    'synthesize_rain'
]
