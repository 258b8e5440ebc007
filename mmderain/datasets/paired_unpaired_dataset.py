# Copyright (c) mmderain contributors. All rights reserved.
"""Paired training samples, each with a random image of an unpaired set."""
from typing import Callable, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import Compose
from torch.utils.data import Dataset

from mmderain.registry import DATASETS


def pack_unpaired(key: str = 'real_img') -> dict:
    """``PackInputs`` keeping the unpaired image ``key`` as a data field.

    Its path, channel order and colour type go to the metainfo (the data
    preprocessor reads ``<key>_channel_order``/``<key>_color_type`` to
    convert it like the inputs).

    Args:
        key (str): The unpaired image's key. Defaults to ``'real_img'``.

    Returns:
        dict: The transform config.
    """
    return dict(
        type='PackInputs',
        data_keys=[key],
        meta_keys=[
            f'{key}_path', f'{key}_key', f'{key}_channel_order',
            f'{key}_color_type'
        ])


def _build(dataset: Union[dict, Dataset], what: str) -> Dataset:
    if isinstance(dataset, dict):
        return DATASETS.build(dataset)
    if not isinstance(dataset, Dataset):
        raise TypeError(f'PairedUnpairedDataset: {what} must be a dataset '
                        f'config or a Dataset, got {type(dataset).__name__}')
    return dataset


@DATASETS.register_module()
class PairedUnpairedDataset(Dataset):
    """Semi-supervised samples: a synthetic pair plus a real rainy image.

    Sample ``i`` is sample ``i`` of ``paired`` (e.g. a random crop of a
    rain/clean pair) together with a uniformly drawn sample of
    ``unpaired`` (e.g. a random crop of a real rainy photo), so that every
    batch holds as many real images as pairs, as SSID-KD's student
    trains (official ``dataset_<D>_real.py``: one pair and one random
    real image per item, the length is the number of pairs).

    Both datasets run their own pipelines (loading, cropping; without
    packing). The unpaired sample's ``img*`` fields (``img``,
    ``img_path``, ``img_channel_order``, ...) and ``key`` join the paired
    results as ``<unpaired_key>*`` and ``<unpaired_key>_key``
    (``real_img``, ``real_img_path``, ``real_img_channel_order``, ...,
    ``real_img_key`` by default), then ``pipeline`` runs on the merged
    dict. The default pipeline packs the real image as a data field with
    its path, channel order and colour type
    (:func:`pack_unpaired`), which the data preprocessor needs to
    normalise it like the inputs
    (``DerainDataPreprocessor(optional_data_keys=['real_img'])``).

    The draw uses NumPy's global generator, which MMEngine seeds per
    dataloader worker (``randomness.seed``); the official code draws with
    the unseeded ``random.randint``.

    Args:
        paired (dict | Dataset): The paired dataset (config or instance).
        unpaired (dict | Dataset): The unpaired dataset (config or
            instance), e.g. an ``UnpairedImageDataset``.
        pipeline (Sequence[dict | Callable], optional): Transforms of the
            merged results. Defaults to ``[pack_unpaired(unpaired_key)]``.
        unpaired_key (str): Name of the unpaired image in the merged
            results. Defaults to ``'real_img'``.

    Raises:
        ValueError: If the unpaired dataset is empty, or its pipeline does
            not produce ``img``.
    """

    def __init__(self,
                 paired: Union[dict, Dataset],
                 unpaired: Union[dict, Dataset],
                 pipeline: Optional[Sequence[Union[dict, Callable]]] = None,
                 unpaired_key: str = 'real_img') -> None:
        self.paired = _build(paired, 'paired')
        self.unpaired = _build(unpaired, 'unpaired')
        if len(self.unpaired) == 0:
            raise ValueError('PairedUnpairedDataset: the unpaired dataset '
                             'is empty')
        if not unpaired_key or unpaired_key in ('img', 'gt'):
            raise ValueError("unpaired_key must be a new key (not 'img' or "
                             f"'gt'), got {unpaired_key!r}")
        self.unpaired_key = unpaired_key
        if pipeline is None:
            pipeline = [pack_unpaired(unpaired_key)]
        self.pipeline = Compose(list(pipeline))

    @property
    def metainfo(self) -> dict:
        """dict: The paired dataset's meta information."""
        return dict(getattr(self.paired, 'metainfo', None) or {})

    def __len__(self) -> int:
        return len(self.paired)

    def merge(self,
              paired: dict,
              unpaired: dict,
              unpaired_idx: Optional[int] = None) -> dict:
        """Add the unpaired sample's image, path and key to ``paired``.

        Args:
            paired (dict): Results of the paired pipeline.
            unpaired (dict): Results of the unpaired pipeline.
            unpaired_idx (int, optional): The unpaired sample's index, for
                error messages.

        Returns:
            dict: ``paired`` with the unpaired fields added.
        """
        if 'img' not in unpaired:
            raise ValueError(
                f'PairedUnpairedDataset: unpaired sample {unpaired_idx} has '
                'no "img" after its pipeline (load it with '
                "LoadImageFromFile(key='img') and do not pack it)")
        out = dict(paired)
        for field, value in unpaired.items():
            if field.startswith('img'):
                out[self.unpaired_key + field[len('img'):]] = value
            elif field == 'key':
                out[f'{self.unpaired_key}_key'] = value
        return out

    def __getitem__(self, idx: int) -> dict:
        paired = self.paired[idx]
        j = int(np.random.randint(len(self.unpaired)))
        return self.pipeline(self.merge(paired, self.unpaired[j], j))
