# Copyright (c) mmderain contributors. All rights reserved.
"""Several derain datasets mixed with per-dataset sampling weights.

Design
------
:class:`MixedDataset` concatenates datasets (e.g. Rain100L, Rain200H and
Rain13K, as CoIC trains) and tags every sample with the dataset it comes
from (``dataset_idx`` and ``dataset_name``) *before* the pipeline runs, so
the tags can be packed. It also stores the per-dataset ``weights``.

:class:`MixedDatasetSampler` turns the weights into indices: each draw picks
dataset ``k`` with probability ``w_k / sum(w)`` and then a sample of that
dataset (per dataset, the samples come from consecutive random
permutations, so every image of a dataset is used about equally often).
The sampler is *finite* (``len`` = ``num_samples`` per rank) and draws a new
stream for every epoch from ``seed + epoch``. This works with both loops:

- ``EpochBasedTrainLoop`` calls ``set_epoch`` at each epoch; one epoch is
  ``num_samples`` draws (default: the total size of the mixed dataset).
- ``IterBasedTrainLoop`` wraps the dataloader in MMEngine's
  ``_InfiniteDataloaderIterator``, which re-iterates it when exhausted and
  calls ``sampler.set_epoch`` with an incremented epoch, so the stream never
  repeats and the dataset proportions hold over any number of iterations.

Weights in the sampler (rather than an index mapping inside the dataset)
keep the proportions exact in expectation without repeating a small
dataset a rounded number of times, and let the proportions change without
rebuilding the dataset. With ``DefaultSampler`` instead, a
``MixedDataset`` is a plain concatenation (every sample once per epoch).
"""
import math
from typing import Callable, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import Compose
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Dataset, Sampler

from mmderain.registry import DATA_SAMPLERS, DATASETS

#: Keys :class:`MixedDataset` adds to every sample. mmagic's ``PackInputs``
#: drops keys it does not know, so list them in its ``meta_keys``.
MIXED_META_KEYS = ('dataset_idx', 'dataset_name')


def _normalised_weights(weights: Sequence[float], num: int,
                        what: str) -> np.ndarray:
    """Check non-negative weights, one per dataset, and normalise them."""
    w = np.asarray(list(weights), dtype=np.float64)
    if w.ndim != 1 or len(w) != num:
        raise ValueError(f'{what}: expected {num} weight(s), one per '
                         f'dataset, got {list(weights)}')
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f'{what}: weights must be finite and >= 0, got '
                         f'{list(weights)}')
    if w.sum() <= 0:
        raise ValueError(f'{what}: at least one weight must be positive, '
                         f'got {list(weights)}')
    return w / w.sum()


@DATASETS.register_module()
class MixedDataset(Dataset):
    """Concatenation of datasets whose samples carry their dataset index.

    Each sample gets ``dataset_idx`` (int, position in ``datasets``) and
    ``dataset_name`` (str) in its data info before the pipeline runs. To
    keep them in the packed ``DataSample`` metainfo, pack with
    ``dict(type='PackInputs', meta_keys=['dataset_idx', 'dataset_name'])``
    (mmagic's ``PackInputs`` keeps only the keys of
    ``DataSample.META_KEYS``/``DATA_KEYS`` plus the listed ``meta_keys``
    and ``data_keys``). They then arrive as
    ``data_sample.metainfo['dataset_idx']``.

    The pipeline of a sample is ``pipeline`` when given (shared by all
    datasets; build the sub-datasets without one), otherwise the
    ``pipeline`` of its own dataset. Sub-datasets must provide
    ``get_data_info(idx)`` (MMEngine's ``BaseDataset`` does); wrappers
    without it, e.g. ``RepeatDataset``, are rejected: use ``weights`` with
    :class:`MixedDatasetSampler` instead of repeating.

    ``weights`` are not used by the dataset itself: they are read by
    :class:`MixedDatasetSampler` (``DefaultSampler`` visits every sample
    once per epoch, ignoring them).

    Args:
        datasets (Sequence[dict | Dataset]): Dataset configs (built with
            the ``DATASETS`` registry) or instances.
        weights (Sequence[float], optional): Sampling weight of each
            dataset, >= 0, normalised by the sampler. Defaults to None
            (proportional to the dataset sizes).
        names (Sequence[str], optional): Name of each dataset, e.g.
            ``['rain100l', 'rain200h']``. Defaults to ``metainfo
            ['dataset_name']`` of each dataset when present, else
            ``'dataset{k}'``.
        pipeline (Sequence[dict | Callable], optional): Pipeline shared by
            all datasets. Defaults to None (each dataset's own pipeline).
        test_mode (bool): In test mode a pipeline returning None raises;
            otherwise another sample of the same dataset is tried (up to
            ``max_refetch`` times), as in MMEngine's ``BaseDataset``.
            Defaults to False.
        lazy_init (bool): Defer :meth:`full_init` of the sub-datasets.
            Defaults to False.
        max_refetch (int): See ``test_mode``. Defaults to 1000.

    Examples:
        >>> mixed = dict(
        ...     type='MixedDataset',
        ...     datasets=[
        ...         dict(type='PairedImageDataset',
        ...              data_root='data/rain100l/train'),
        ...         dict(type='PairedImageDataset',
        ...              data_root='data/rain100h/train')],
        ...     names=['rain100l', 'rain100h'],
        ...     weights=[1, 3],
        ...     pipeline=[..., dict(type='PackInputs',
        ...                         meta_keys=['dataset_idx',
        ...                                    'dataset_name'])])
        >>> sampler = dict(type='MixedDatasetSampler', seed=0)
    """

    METAINFO = dict(dataset_type='mixed_dataset', task_name='derain')

    def __init__(self,
                 datasets: Sequence[Union[dict, Dataset]],
                 weights: Optional[Sequence[float]] = None,
                 names: Optional[Sequence[str]] = None,
                 pipeline: Optional[Sequence[Union[dict, Callable]]] = None,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        if isinstance(datasets, (dict, Dataset)) or not datasets:
            raise ValueError('MixedDataset needs a non-empty list of dataset '
                             f'configs or instances, got {datasets!r}')
        self.datasets: List[Dataset] = []
        for k, ds in enumerate(datasets):
            if isinstance(ds, dict):
                ds = DATASETS.build(ds)
            elif not isinstance(ds, Dataset):
                raise TypeError(f'datasets[{k}] must be a dict or a Dataset, '
                                f'got {type(ds).__name__}')
            if not hasattr(ds, 'get_data_info'):
                raise TypeError(
                    f'datasets[{k}] ({type(ds).__name__}) has no '
                    'get_data_info(); MixedDataset needs BaseDataset-like '
                    'datasets (use weights instead of RepeatDataset)')
            if pipeline is None and not callable(
                    getattr(ds, 'pipeline', None)):
                raise TypeError(f'datasets[{k}] ({type(ds).__name__}) has no '
                                'pipeline; give MixedDataset a pipeline')
            self.datasets.append(ds)
        num = len(self.datasets)
        if names is None:
            names = [
                str((getattr(ds, 'metainfo', None)
                     or {}).get('dataset_name', f'dataset{k}'))
                for k, ds in enumerate(self.datasets)
            ]
        names = list(names)
        if len(names) != num or len(set(names)) != num:
            raise ValueError(f'names must be {num} distinct names, one per '
                             f'dataset, got {names}')
        self.names = names
        if weights is not None:
            _normalised_weights(weights, num, 'MixedDataset')
            weights = [float(w) for w in weights]
        self._weights = weights
        self.pipeline = Compose(pipeline) if pipeline is not None else None
        self.test_mode = test_mode
        self.max_refetch = max_refetch
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------ sizes
    def full_init(self) -> None:
        """Fully initialise the sub-datasets and check they are not empty.

        Raises:
            ValueError: If a dataset with a positive weight is empty.
        """
        if self._fully_initialized:
            return
        for ds in self.datasets:
            if hasattr(ds, 'full_init'):
                ds.full_init()
        self.sizes = [len(ds) for ds in self.datasets]
        weights = self.weights
        empty = [
            self.names[k] for k, n in enumerate(self.sizes)
            if n == 0 and weights[k] > 0
        ]
        if empty:
            raise ValueError(f'MixedDataset: dataset(s) {empty} are empty '
                             'but have a positive sampling weight')
        self.cumulative_sizes = np.cumsum(self.sizes).tolist()
        self._fully_initialized = True

    @property
    def weights(self) -> List[float]:
        """list[float]: Sampling weights (dataset sizes when not given)."""
        if self._weights is not None:
            return list(self._weights)
        return [float(len(ds)) for ds in self.datasets]

    @property
    def offsets(self) -> List[int]:
        """list[int]: Global index of the first sample of each dataset."""
        self.full_init()
        return [0] + self.cumulative_sizes[:-1]

    @property
    def metainfo(self) -> dict:
        """dict: Type, names, weights and meta of every sub-dataset."""
        return dict(
            self.METAINFO,
            dataset_names=list(self.names),
            weights=self.weights,
            datasets=[
                dict(getattr(ds, 'metainfo', None) or {})
                for ds in self.datasets
            ])

    def __len__(self) -> int:
        self.full_init()
        return self.cumulative_sizes[-1]

    def locate(self, idx: int) -> tuple:
        """Map a global index to ``(dataset_idx, local_idx)``.

        Args:
            idx (int): Index in ``[-len, len)``.

        Returns:
            tuple[int, int]: Dataset index and index inside that dataset.
        """
        total = len(self)
        if idx < 0:
            idx += total
        if not 0 <= idx < total:
            raise IndexError(
                f'MixedDataset index {idx} out of range [0, {total})')
        k = int(np.searchsorted(self.cumulative_sizes, idx, side='right'))
        return k, idx - self.offsets[k]

    # ------------------------------------------------------------ samples
    def get_data_info(self, idx: int) -> dict:
        """Data info of sample ``idx`` with its dataset index and name.

        Args:
            idx (int): Global index.

        Returns:
            dict: The sub-dataset's data info plus ``dataset_idx`` and
            ``dataset_name``; ``sample_idx`` is the global index and the
            sub-dataset's own index is kept as ``dataset_sample_idx``.
        """
        k, local = self.locate(idx)
        info = dict(self.datasets[k].get_data_info(local))
        info['dataset_sample_idx'] = info.get('sample_idx', local)
        info['sample_idx'] = self.offsets[k] + local
        info['dataset_idx'] = k
        info['dataset_name'] = self.names[k]
        return info

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``.

        Args:
            idx (int): Global index.

        Returns:
            Any: The pipeline output (None if the pipeline dropped it).
        """
        k, _ = self.locate(idx)
        pipeline = self.pipeline or self.datasets[k].pipeline
        return pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int):
        data = self.prepare_data(idx)
        if data is not None:
            return data
        if self.test_mode:
            raise RuntimeError(
                f'The pipeline returned None for sample {idx} '
                f'({self.get_data_info(idx)}); this is not allowed in test '
                'mode')
        k, _ = self.locate(idx)
        for _ in range(self.max_refetch):
            # stay in the same dataset to keep the sampling proportions
            new = self.offsets[k] + int(np.random.randint(self.sizes[k]))
            data = self.prepare_data(new)
            if data is not None:
                return data
        raise RuntimeError(
            f'Cannot find a valid sample in dataset {self.names[k]!r} after '
            f'{self.max_refetch} retries; check its pipeline')


@DATA_SAMPLERS.register_module()
class MixedDatasetSampler(Sampler):
    """Draw datasets of a :class:`MixedDataset` by weight, DDP-aware.

    Every draw picks dataset ``k`` with probability ``w_k / sum(w)``, then
    a sample of dataset ``k`` (from consecutive random permutations of it).
    The global stream of ``total_size`` draws is identical on all ranks
    (generator seeded with ``seed + epoch``, like MMEngine's
    ``DefaultSampler``) and rank ``r`` takes positions
    ``r, r + world_size, ...``, so the ranks' streams are disjoint slices
    with the same distribution. Call :meth:`set_epoch` for a new stream
    (both train loops of MMEngine do).

    Args:
        dataset (MixedDataset): The dataset; any dataset with
            ``cumulative_sizes`` (e.g. MMEngine's ``ConcatDataset``) works
            when ``weights`` is given.
        weights (Sequence[float], optional): Weight per dataset, >= 0.
            Defaults to None (``dataset.weights``).
        num_samples (int, optional): Draws per epoch over all ranks.
            Defaults to None (``len(dataset)``).
        seed (int, optional): Random seed, the same on all ranks. Defaults
            to None (a random seed synchronised across ranks).

    Attributes:
        num_samples (int): Draws per epoch of this rank (``len``).
        total_size (int): Draws per epoch of all ranks.
    """

    def __init__(self,
                 dataset: Dataset,
                 weights: Optional[Sequence[float]] = None,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        cumulative = getattr(dataset, 'cumulative_sizes', None)
        if cumulative is None:
            raise TypeError('MixedDatasetSampler needs a MixedDataset (or a '
                            'dataset with cumulative_sizes), got '
                            f'{type(dataset).__name__}')
        cumulative = [int(c) for c in cumulative]
        self.sizes = np.diff([0] + cumulative).tolist()
        self.offsets = [0] + cumulative[:-1]
        if weights is None:
            weights = getattr(dataset, 'weights', None)
            if weights is None:
                raise ValueError(
                    f'{type(dataset).__name__} has no weights; give '
                    'MixedDatasetSampler weights=[...]')
        self.probs = _normalised_weights(weights, len(self.sizes),
                                         'MixedDatasetSampler')
        empty = [
            k for k, n in enumerate(self.sizes) if n == 0 and self.probs[k] > 0
        ]
        if empty:
            raise ValueError(f'MixedDatasetSampler: dataset(s) {empty} are '
                             'empty but have a positive weight')
        if num_samples is None:
            num_samples = len(dataset)
        if int(num_samples) <= 0:
            raise ValueError(
                f'num_samples must be positive, got {num_samples}')
        self.num_samples = math.ceil(int(num_samples) / world_size)
        self.total_size = self.num_samples * world_size
        if seed is None:
            seed = sync_random_seed()
        self.seed = seed
        self.epoch = 0

    def global_indices(self) -> List[int]:
        """The stream of all ranks for the current epoch.

        Returns:
            list[int]: ``total_size`` global indices of the dataset.
        """
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        probs = torch.as_tensor(self.probs, dtype=torch.float64)
        choice = torch.multinomial(
            probs, self.total_size, replacement=True, generator=g)
        indices = torch.empty(self.total_size, dtype=torch.long)
        for k, (size, offset) in enumerate(zip(self.sizes, self.offsets)):
            where = (choice == k).nonzero(as_tuple=True)[0]
            count = len(where)
            if count == 0:
                continue
            perms = [
                torch.randperm(size, generator=g)
                for _ in range(math.ceil(count / size))
            ]
            indices[where] = torch.cat(perms)[:count] + offset
        return indices.tolist()

    def __iter__(self) -> Iterator[int]:
        """Iterate the indices of this rank."""
        indices = self.global_indices()
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        """The number of samples of this rank per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which selects a new random stream.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch
