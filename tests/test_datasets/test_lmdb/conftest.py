# Copyright (c) mmderain contributors. All rights reserved.
"""Tiny image sources and databases of the LMDB tests."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmderain.datasets.lmdb.packing import pack_lmdb
from tests._helpers import write_pairs


@pytest.fixture
def pairs(tmp_path):
    """Three 8x12 rain/norain pairs under ``tmp_path/data``."""
    return write_pairs(tmp_path / 'data', n=3, size=(8, 12))


@pytest.fixture
def items(pairs):
    """``(stem, path)`` of the clean images of :func:`pairs`."""
    folder = osp.join(pairs, 'norain')
    return [(osp.splitext(n)[0], osp.join(folder, n))
            for n in sorted(os.listdir(folder))]


@pytest.fixture
def raw_db(tmp_path):
    """Factory of a raw database of random (incompressible, findable)
    images: ``raw_db(n=3, shape=(64, 80, 3))`` -> ``(items, db)``."""

    def make(n=3, shape=(64, 80, 3)):
        rng = np.random.default_rng(1)
        items = []
        for i in range(n):
            path = str(tmp_path / f'src{i}.png')
            cv2.imwrite(path, rng.integers(0, 256, shape, np.uint8))
            items.append((f'k{i}', path))
        db = pack_lmdb(
            items, str(tmp_path / 'raw.lmdb'), fmt='raw', show_progress=False)
        return items, db

    return make
