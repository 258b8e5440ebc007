# Copyright (c) mmderain contributors. All rights reserved.
"""Fixtures of the evaluation tests."""
import os.path as osp
from typing import Callable, Tuple

import cv2
import numpy as np
import pytest


@pytest.fixture(scope='session')
def read_rain100l(
        data_root: str) -> Callable[[int], Tuple[np.ndarray, np.ndarray]]:
    """Reader of Rain100L test pairs (skips without ``MMDERAIN_DATA``).

    Args:
        data_root (str): The ``data_root`` fixture.

    Returns:
        Callable[[int], tuple[np.ndarray, np.ndarray]]: ``read(n)`` gives the
        (rainy, clean) uint8 RGB HWC images of ``norain-n.png``; it fails the
        test when a file is missing.
    """

    def read(n: int) -> Tuple[np.ndarray, np.ndarray]:
        images = []
        for sub in ('rain', 'norain'):
            path = osp.join(data_root, 'rain100l', 'test', sub,
                            f'norain-{n}.png')
            if not osp.isfile(path):
                pytest.fail(f'Missing Rain100L test file: {path}')
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            assert img is not None, f'cv2 could not read {path}'
            images.append(np.ascontiguousarray(img[..., ::-1]))  # BGR->RGB
        return images[0], images[1]

    return read
