# Copyright (c) mmderain contributors. All rights reserved.
from .nonfinite_hook import (NonFiniteLossError, NonFiniteLossHook,
                             request_step_skip)
from .rain_augment_hook import RainAugmentHook
from .rain_sample_hook import RainSampleHook
from .stage_checkpoint_hook import (LoadStageCheckpointHook,
                                    load_generator_state, resolve_checkpoint)

__all__ = [
    'LoadStageCheckpointHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'request_step_skip', 'RainAugmentHook', 'RainSampleHook',
    'load_generator_state', 'resolve_checkpoint'
]
