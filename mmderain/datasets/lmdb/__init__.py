# Copyright (c) mmderain contributors. All rights reserved.
"""LMDB storage of mmderain datasets.

What training needs is exported here: :mod:`.reader` (one database) and
:mod:`.layout` (the folder of a packed dataset, read by ``backend='lmdb'``).
Writing and verifying packs lives in :mod:`.packing` (with the safe output
handling of :mod:`.atomic_output`), used by
``tools/dataset_converters/pack_lmdb.py`` and never imported when reading.
"""
from .layout import default_lmdb_root, lmdb_data_list, read_pairs
from .reader import (FORMATS, LmdbCorruptError, LmdbImageReader,
                     check_data_size, read_lmdb_image, read_meta_info)

__all__ = [
    'FORMATS', 'LmdbCorruptError', 'LmdbImageReader', 'check_data_size',
    'default_lmdb_root', 'lmdb_data_list', 'read_lmdb_image', 'read_meta_info',
    'read_pairs'
]
