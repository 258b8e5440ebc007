# Copyright (c) mmderain contributors. All rights reserved.
"""Importing the OpenMMLab stack without its third-party noise."""
import contextlib
import os
import warnings
from typing import Iterator


@contextlib.contextmanager
def quiet_mmagic_import() -> Iterator[None]:
    """Silence the deprecation warnings ``import mmagic.models`` triggers.

    mmagic imports diffusers and transformers, which call
    ``torch.utils._pytree._register_pytree_node`` (deprecated since torch
    2.2) at import time; the warning is theirs and not actionable by users.
    Only that message is filtered, only inside the ``with`` block. It also
    turns off albumentations' update check (a network request at import,
    made through mmagic), unless ``NO_ALBUMENTATIONS_UPDATE`` is set.
    """
    os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore',
            message='.*_register_pytree_node',
            category=FutureWarning)
        yield
