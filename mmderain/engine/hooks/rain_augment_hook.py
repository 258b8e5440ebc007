# Copyright (c) mmderain contributors. All rights reserved.
"""Augment any derainer's training batches with a trained rain generator."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmderain.models.data_preprocessors import GeneratedRainAugment
from mmderain.registry import HOOKS


@HOOKS.register_module()
class RainAugmentHook(Hook):
    """Mix generated rainy/clean pairs into a derainer's training batches.

    Before training it builds the rain generator, loads its weights from
    ``checkpoint`` (a VRGNet joint-training checkpoint, whose
    ``rain_generator.*`` weights are used, or one converted from official
    ``ED_state_*.pt`` files) and installs a
    :class:`~mmderain.models.data_preprocessors.GeneratedRainAugment` in the
    model's :class:`~mmderain.models.data_preprocessors.DerainDataPreprocessor`
    (``batch_augments``). This turns e.g. PReNet into VRGNet's "PReNet+".
    Only training batches change; checkpoints hold the derainer only.

    Args:
        checkpoint (str): Generator checkpoint file or a work dir (its
            ``last_checkpoint``).
        fake_ratio (float): Generated / real pairs per batch. Defaults to
            0.5 (official: 12 real + 6 generated of 18).
        rain_generator (dict, optional): Generator config. Defaults to
            the official 64-px generator
            (:data:`mmderain.apis.rain_generation.DEFAULT_RAIN_GENERATOR`).
        prefix (str): Key prefix of the generator weights in the
            checkpoint. Defaults to ``'rain_generator.'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 checkpoint: str,
                 fake_ratio: float = 0.5,
                 rain_generator: Optional[dict] = None,
                 prefix: str = 'rain_generator.') -> None:
        if not checkpoint:
            raise ValueError('RainAugmentHook needs `checkpoint`')
        if fake_ratio < 0:
            raise ValueError(f'fake_ratio must be >= 0, got {fake_ratio}')
        self.checkpoint = checkpoint
        self.fake_ratio = fake_ratio
        if rain_generator is None:
            from mmderain.apis.rain_generation import DEFAULT_RAIN_GENERATOR
            rain_generator = DEFAULT_RAIN_GENERATOR
        self.rain_generator = dict(rain_generator)
        self.prefix = prefix

    def before_train(self, runner) -> None:
        """Install the augmentation in the model's data preprocessor."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        pre = model.data_preprocessor
        if not hasattr(pre, 'batch_augments'):
            raise TypeError(
                f'RainAugmentHook needs a DerainDataPreprocessor, the model '
                f'has {type(pre).__name__}: set model.data_preprocessor.type'
                "='DerainDataPreprocessor'")
        from mmderain.apis.rain_generation import load_subnetwork
        generator = load_subnetwork(self.checkpoint, self.rain_generator,
                                    self.prefix)
        pre.batch_augments = [
            a for a in pre.batch_augments
            if not isinstance(a, GeneratedRainAugment)
        ]
        pre.batch_augments.append(
            GeneratedRainAugment(generator, pre, self.fake_ratio))
        runner.logger.info(
            f'Rain augmentation: generator from {self.checkpoint}, fake_ratio '
            f'{self.fake_ratio}')
