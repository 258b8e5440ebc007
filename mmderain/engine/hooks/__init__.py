# Copyright (c) mmderain contributors. All rights reserved.
from .checkpoint_hook import SafeCheckpointHook
from .rain_augment_hook import RainAugmentHook
from .rain_sample_hook import RainSampleHook
from .stage_checkpoint_hook import (LoadStageCheckpointHook,
                                    load_generator_state, resolve_checkpoint)

__all__ = [
    'LoadStageCheckpointHook', 'RainAugmentHook', 'RainSampleHook',
    'SafeCheckpointHook', 'load_generator_state', 'resolve_checkpoint'
]
