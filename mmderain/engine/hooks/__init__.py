# Copyright (c) mmderain contributors. All rights reserved.
from .checkpoint_hook import SafeCheckpointHook
from .nonfinite_hook import (NonFiniteLossError, NonFiniteLossHook,
                             request_step_skip)
from .rain_augment_hook import RainAugmentHook
from .rain_sample_hook import RainSampleHook
from .stage_checkpoint_hook import (LoadStageCheckpointHook,
                                    load_generator_state, resolve_checkpoint)

__all__ = [
    'LoadStageCheckpointHook', 'NonFiniteLossError', 'NonFiniteLossHook',
    'RainAugmentHook', 'RainSampleHook', 'SafeCheckpointHook',
    'load_generator_state', 'request_step_skip', 'resolve_checkpoint'
]
