# Copyright (c) mmderain contributors. All rights reserved.
"""Datasets and data transforms of mmderain."""
from .base_dataset import BaseDerainDataset
from .index_file_dataset import SPA_GT_RULE, IndexFileDataset
from .lmdb import (LmdbCorruptError, LmdbImageReader, read_lmdb_image,
                   read_meta_info)
from .many_to_one_dataset import ManyToOneDataset
from .mixed_dataset import MIXED_META_KEYS, MixedDataset, MixedDatasetSampler
from .paired_image_dataset import PairedImageDataset, natural_sort_key
from .paired_unpaired_dataset import PairedUnpairedDataset
from .sdr_dataset import SDRDataset
from .side_by_side_dataset import SideBySideDataset
from .transforms import (AddRainStreaks, CheckPairedSize, LoadImageFromFile,
                         PairedRandomCrop, SplitSideBySide, check_paired_size,
                         line_kernel, synthesize_rain)
from .unpaired_image_dataset import UnpairedImageDataset

__all__ = [
    'BaseDerainDataset', 'PairedImageDataset', 'natural_sort_key',
    'PairedUnpairedDataset', 'SDRDataset', 'SideBySideDataset',
    'ManyToOneDataset', 'IndexFileDataset', 'SPA_GT_RULE', 'MixedDataset',
    'MixedDatasetSampler', 'MIXED_META_KEYS', 'UnpairedImageDataset',
    'AddRainStreaks', 'CheckPairedSize', 'LoadImageFromFile',
    'PairedRandomCrop', 'SplitSideBySide', 'check_paired_size', 'line_kernel',
    'synthesize_rain', 'LmdbImageReader', 'LmdbCorruptError',
    'read_lmdb_image', 'read_meta_info'
]
