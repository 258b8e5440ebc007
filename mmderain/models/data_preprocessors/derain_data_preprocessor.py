# Copyright (c) mmderain contributors. All rights reserved.
"""mmagic's DataPreprocessor plus training-batch augmentations."""
from typing import Callable, List, Sequence, Tuple

import torch

from mmderain.registry import MODELS
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.models import DataPreprocessor
    from mmagic.structures import DataSample

BatchAugment = Callable[[torch.Tensor, DataSample], Tuple[torch.Tensor,
                                                          DataSample]]


@MODELS.register_module()
class DerainDataPreprocessor(DataPreprocessor):
    """mmagic's :class:`DataPreprocessor` with ``batch_augments``.

    After the usual collation, channel-order conversion and normalisation,
    training batches go through :attr:`batch_augments`, callables
    ``(inputs, data_samples) -> (inputs, data_samples)`` working on the
    preprocessed (normalised) tensors, as MMDetection's ``batch_augments``.
    They are typically installed by a hook (e.g.
    :class:`~mmderain.engine.hooks.RainAugmentHook`) and are not part of the
    state dict. The preprocessor runs inside ``train_step`` of plain and
    distributed models alike, so the augmentations apply in both.

    ``optional_data_keys`` are image fields of the data samples processed
    like ``data_keys`` (channel order, normalisation) when the samples have
    them, and skipped silently otherwise: e.g. CoIC's whole-image context
    ``img_ctx``/``gt_ctx``, packed by the training pipeline only.

    Args:
        optional_data_keys (Sequence[str]): See above. Defaults to ().
        **kwargs: Arguments of mmagic's :class:`DataPreprocessor`.
    """

    def __init__(self, optional_data_keys: Sequence[str] = (),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.batch_augments: List[BatchAugment] = []
        self.optional_data_keys = tuple(optional_data_keys)

    @staticmethod
    def _align_metainfo(data_samples) -> None:
        """Give every sample the union of the batch's metainfo keys (None
        where a sample lacks one), so that samples of different datasets
        (e.g. a ``MixedDataset`` of paired and synthesised data) stack;
        mmagic's ``DataSample.stack`` needs identical keys, listed in the
        same order."""
        if not data_samples or not all(
                isinstance(s, DataSample) for s in data_samples):
            return
        listed = [s.metainfo_keys() for s in data_samples]
        if all(keys == listed[0] for keys in listed):
            return
        keys = [set(k) for k in listed]
        union = set().union(*keys)
        order = sorted(union)
        for sample, have in zip(data_samples, keys):
            sample.set_metainfo({k: None for k in union - have})
            # ``metainfo_keys()`` lists a set, and ``DataSample.stack``
            # compares those lists: equal sets built by different insertion
            # histories may iterate in different orders (string hashes vary
            # between processes). Rebuild every sample's key set by the same
            # insertions so that all list their keys identically.
            fields = sample._metainfo_fields
            fields.clear()
            fields.update(order)

    def _preprocess_data_sample(self, data_samples, training: bool):
        """mmagic's processing of ``data_keys`` plus the optional keys the
        samples have. Outside training, ``data_keys`` that no sample has
        (``gt_img`` of real photos without ground truth) are skipped
        without mmagic's warning."""
        self._align_metainfo(data_samples)
        base = self.data_keys
        keys = [base] if isinstance(base, str) else list(base or [])

        def _have(key):
            return bool(data_samples) and all(
                hasattr(s, key) for s in data_samples)

        if not training:
            keys = [k for k in keys if _have(k)]
        present = [k for k in self.optional_data_keys if _have(k)]
        self.data_keys = keys + present
        try:
            return super()._preprocess_data_sample(data_samples, training)
        finally:
            self.data_keys = base

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess a batch; apply :attr:`batch_augments` in training."""
        data = super().forward(data, training)
        if training:
            for augment in self.batch_augments:
                data['inputs'], data['data_samples'] = augment(
                    data['inputs'], data['data_samples'])
        return data

    def to_unit_range(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised tensors (output channel order) -> [0, 1] images."""
        if not self._enable_normalize:
            return x / 255.
        return (x * self.std + self.mean) / 255.

    def from_unit_range(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] images (output channel order) -> normalised tensors."""
        if not self._enable_normalize:
            return x * 255.
        return (x * 255. - self.mean) / self.std
