# Copyright (c) mmderain contributors. All rights reserved.
from .checkpoint import (AtomicLocalBackend, allow_mmengine_checkpoint_globals,
                         convert_official_checkpoint, load_official_state_dict,
                         save_converted_checkpoint, use_atomic_local_backend)
from .setup_env import register_all_modules

__all__ = [
    'AtomicLocalBackend', 'allow_mmengine_checkpoint_globals',
    'convert_official_checkpoint', 'load_official_state_dict',
    'register_all_modules', 'save_converted_checkpoint',
    'use_atomic_local_backend'
]
