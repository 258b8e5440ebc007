# Copyright (c) mmderain contributors. All rights reserved.
"""Datasets and data transforms of mmderain."""
from .paired_image_dataset import PairedImageDataset, natural_sort_key
from .transforms import (AddRainStreaks, CheckPairedSize, LoadImageFromFile,
                         PairedRandomCrop, check_paired_size, line_kernel,
                         synthesize_rain)

__all__ = [
    'PairedImageDataset', 'natural_sort_key', 'AddRainStreaks',
    'CheckPairedSize', 'LoadImageFromFile', 'PairedRandomCrop',
    'check_paired_size', 'line_kernel', 'synthesize_rain'
]
