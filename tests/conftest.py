# Copyright (c) mmderain contributors. All rights reserved.
"""Shared pytest fixtures of the mmderain test suite."""
import os
import os.path as osp

import pytest


@pytest.fixture(scope='session')
def data_root() -> str:
    """Root of the reference data, from the ``MMDERAIN_DATA`` env variable.

    The folder holds e.g. ``rain100l/test/{rain,norain}/norain-N.png``.
    Tests using this fixture are skipped when the variable is unset and fail
    when it points at a missing folder.

    Returns:
        str: The data root directory.
    """
    root = os.environ.get('MMDERAIN_DATA')
    if not root:
        pytest.skip('MMDERAIN_DATA is not set; real-data tests skipped.')
    if not osp.isdir(root):
        pytest.fail(f'MMDERAIN_DATA={root!r} is not a directory.')
    return root
