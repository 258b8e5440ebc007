# Copyright (c) mmderain contributors. All rights reserved.
from .checkpoint import (AtomicLocalBackend, allow_mmengine_checkpoint_globals,
                         use_atomic_local_backend)
from .setup_env import register_all_modules

__all__ = [
    'AtomicLocalBackend', 'allow_mmengine_checkpoint_globals',
    'register_all_modules', 'use_atomic_local_backend'
]
