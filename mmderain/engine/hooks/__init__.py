# Copyright (c) mmderain contributors. All rights reserved.
from .stage_checkpoint_hook import (LoadStageCheckpointHook,
                                    load_generator_state, resolve_checkpoint)

__all__ = [
    'LoadStageCheckpointHook', 'load_generator_state', 'resolve_checkpoint'
]
