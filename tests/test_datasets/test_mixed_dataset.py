# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of MixedDataset and MixedDatasetSampler."""
import os.path as osp
from collections import Counter

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mmderain.datasets import mixed_dataset as mixed_module
from mmderain.datasets.mixed_dataset import MixedDataset, MixedDatasetSampler
from mmderain.datasets.paired_image_dataset import PairedImageDataset
from tests._helpers import write_pairs

LOAD = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
]
PACK = dict(type='PackInputs', meta_keys=['dataset_idx', 'dataset_name'])


@pytest.fixture(autouse=True)
def _scope():
    """Build transforms of the mmderain scope."""
    init_default_scope('mmderain')


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """Two tiny paired datasets of 3 and 5 pairs."""
    tmp = tmp_path_factory.mktemp('mixed')
    return (write_pairs(osp.join(tmp, 'a'), n=3, size=(12, 14), seed=1),
            write_pairs(osp.join(tmp, 'b'), n=5, size=(12, 14), seed=2))


def _paired(root):
    return dict(type='PairedImageDataset', data_root=root)


def _mixed(roots, **kwargs):
    kwargs.setdefault('names', ['a', 'b'])
    return MixedDataset([_paired(r) for r in roots], **kwargs)


def _fake_dist(monkeypatch, rank, world_size):
    monkeypatch.setattr(mixed_module, 'get_dist_info', lambda:
                        (rank, world_size))


def test_concatenation_and_tags(roots):
    ds = _mixed(roots, weights=[1, 3])
    assert len(ds) == 8
    assert ds.cumulative_sizes == [3, 8] and ds.offsets == [0, 3]
    info = ds.get_data_info(4)
    assert info['dataset_idx'] == 1 and info['dataset_name'] == 'b'
    assert info['img_path'].endswith(osp.join('rain', 'norain-2.png'))
    assert info['sample_idx'] == 4 and info['dataset_sample_idx'] == 1
    assert ds.get_data_info(-1)['key'] == 'norain-5'
    assert ds.locate(2) == (0, 2) and ds.locate(3) == (1, 0)
    with pytest.raises(IndexError, match='out of range'):
        ds.get_data_info(8)
    meta = ds.metainfo
    assert meta['dataset_names'] == ['a', 'b']
    assert meta['weights'] == [1.0, 3.0]


def test_default_names_weights_and_instances(roots):
    inst = PairedImageDataset(data_root=roots[0])
    ds = MixedDataset([inst, _paired(roots[1])], pipeline=[])
    assert ds.names == ['dataset0', 'dataset1']
    assert ds.weights == [3.0, 5.0]  # proportional to sizes
    lazy = MixedDataset([_paired(r) for r in roots], lazy_init=True)
    assert len(lazy) == 8


def test_pipeline_shared_or_own(roots):
    shared = _mixed(roots, pipeline=LOAD + [PACK])
    out = shared[3]
    assert out['data_samples'].metainfo['dataset_idx'] == 1
    assert out['data_samples'].metainfo['dataset_name'] == 'b'
    own = MixedDataset([
        dict(_paired(roots[0]), pipeline=LOAD + [PACK]),
        dict(_paired(roots[1]), pipeline=LOAD + [PACK]),
    ])
    assert own[0]['data_samples'].metainfo['dataset_idx'] == 0
    # without meta_keys mmagic's PackInputs drops the tags
    plain = _mixed(roots, pipeline=LOAD + [dict(type='PackInputs')])
    assert 'dataset_idx' not in plain[0]['data_samples'].metainfo


def test_refetch_stays_in_dataset(roots):

    def drop_first(results):
        return None if results['dataset_sample_idx'] == 0 else results

    ds = _mixed(roots, pipeline=[drop_first])
    np.random.seed(0)
    for _ in range(5):
        out = ds[3]
        assert out['dataset_idx'] == 1 and out['dataset_sample_idx'] != 0
    test_ds = _mixed(roots, pipeline=[drop_first], test_mode=True)
    with pytest.raises(RuntimeError, match='test mode'):
        test_ds[0]


@pytest.mark.parametrize('kwargs, match', [
    (dict(weights=[1]), 'one per dataset'),
    (dict(weights=[1, -1]), '>= 0'),
    (dict(weights=[0, 0]), 'positive'),
    (dict(names=['a', 'a']), 'distinct'),
])
def test_invalid_arguments(roots, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _mixed(roots, **kwargs)


def test_invalid_datasets(roots):
    with pytest.raises(ValueError, match='non-empty list'):
        MixedDataset([])
    with pytest.raises(ValueError, match='non-empty list'):
        MixedDataset(_paired(roots[0]))
    with pytest.raises(TypeError, match='get_data_info'):
        MixedDataset([torch.utils.data.TensorDataset(torch.zeros(2))],
                     pipeline=[])
    with pytest.raises(TypeError, match='datasets\\[1\\]'):
        MixedDataset([_paired(roots[0]), 3], pipeline=[])
    with pytest.raises(FileNotFoundError, match='missing'):
        MixedDataset([_paired(osp.join(roots[0], 'missing'))])


def _freqs(ds, indices):
    counts = Counter(ds.locate(i)[0] for i in indices)
    return np.array([counts[k]
                     for k in range(len(ds.datasets))]) / len(indices)


def test_sampler_frequencies_match_weights(roots):
    ds = _mixed(roots, weights=[1, 3])
    sampler = MixedDatasetSampler(ds, num_samples=4000, seed=0)
    assert len(sampler) == 4000
    indices = list(sampler)
    assert len(indices) == 4000 and all(0 <= i < 8 for i in indices)
    np.testing.assert_allclose(_freqs(ds, indices), [0.25, 0.75], atol=0.03)
    # within a dataset, samples come from permutations: near-uniform
    per_b = Counter(i for i in indices if i >= 3)
    assert set(per_b) == {3, 4, 5, 6, 7}
    assert max(per_b.values()) - min(per_b.values()) <= 1
    # sampler weights override the dataset's; zero weight: never drawn
    only_a = MixedDatasetSampler(ds, weights=[1, 0], num_samples=50, seed=0)
    assert set(only_a) == {0, 1, 2}


def test_sampler_deterministic_and_epochs(roots):
    ds = _mixed(roots, weights=[2, 1])
    s1 = MixedDatasetSampler(ds, seed=3, num_samples=64)
    s2 = MixedDatasetSampler(ds, seed=3, num_samples=64)
    assert list(s1) == list(s2)
    first = list(s1)
    s1.set_epoch(1)
    assert list(s1) != first
    s2.set_epoch(1)
    assert list(s1) == list(s2)
    # default length: one pass worth of draws
    assert len(MixedDatasetSampler(ds, seed=0)) == len(ds)


def test_sampler_sharding_two_ranks(roots, monkeypatch):
    ds = _mixed(roots, weights=[1, 3])
    streams = []
    for rank in range(2):
        _fake_dist(monkeypatch, rank, 2)
        sampler = MixedDatasetSampler(ds, num_samples=4001, seed=7)
        assert sampler.total_size == 4002 and len(sampler) == 2001
        streams.append(list(sampler))
        assert len(streams[-1]) == 2001
        # every rank sees the mixed distribution
        np.testing.assert_allclose(
            _freqs(ds, streams[-1]), [0.25, 0.75], atol=0.04)
    # the ranks take disjoint, interleaved positions of one global stream
    _fake_dist(monkeypatch, 0, 2)
    global_stream = MixedDatasetSampler(
        ds, num_samples=4001, seed=7).global_indices()
    assert streams[0] == global_stream[0::2]
    assert streams[1] == global_stream[1::2]
    assert streams[0] != streams[1]
    interleaved = [i for pair in zip(*streams) for i in pair]
    assert interleaved == global_stream
    # same seed and total size on one rank: the same global stream
    _fake_dist(monkeypatch, 0, 1)
    assert list(MixedDatasetSampler(ds, num_samples=4002,
                                    seed=7)) == global_stream


def test_sampler_invalid(roots):
    inst = PairedImageDataset(data_root=roots[0])
    with pytest.raises(TypeError, match='cumulative_sizes'):
        MixedDatasetSampler(inst, seed=0)
    ds = _mixed(roots)
    with pytest.raises(ValueError, match='one per dataset'):
        MixedDatasetSampler(ds, weights=[1, 2, 3], seed=0)
    with pytest.raises(ValueError, match='num_samples'):
        MixedDatasetSampler(ds, num_samples=0, seed=0)


def test_runner_build_dataloader_packs_dataset_idx(roots):
    from mmengine.runner import Runner
    cfg = dict(
        batch_size=4,
        num_workers=0,
        sampler=dict(type='MixedDatasetSampler', num_samples=8),
        dataset=dict(
            type='MixedDataset',
            datasets=[_paired(r) for r in roots],
            names=['a', 'b'],
            weights=[1, 1],
            pipeline=LOAD +
            [dict(type='PairedRandomCrop', patch_size=8), PACK]))
    loader = Runner.build_dataloader(cfg, seed=0)
    assert isinstance(loader.sampler, MixedDatasetSampler)
    assert isinstance(loader.dataset, MixedDataset)
    assert len(loader) == 2
    seen = []
    for batch in loader:
        assert len(batch['inputs']) == 4
        assert batch['inputs'][0].shape == (3, 8, 8)
        for sample in batch['data_samples']:
            idx = sample.metainfo['dataset_idx']
            assert sample.metainfo['dataset_name'] == ['a', 'b'][idx]
            assert sample.gt_img.shape == (3, 8, 8)
            seen.append(idx)
    assert len(seen) == 8 and set(seen) <= {0, 1}
    # the same seed gives the same stream
    again = Runner.build_dataloader(cfg, seed=0)
    assert list(again.sampler) == list(loader.sampler)


def test_example_config_builds(roots):
    from mmengine.config import Config
    from mmengine.runner import Runner
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs', '_base_', 'datasets',
                 'mixed_rain100l_rain100h_train.py'))
    loader_cfg = cfg.train_dataloader.to_dict()
    for sub, root in zip(loader_cfg['dataset']['datasets'], roots):
        sub['data_root'] = root
    loader_cfg.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader_cfg['sampler']['num_samples'] = 4
    loader_cfg['dataset']['pipeline'][2]['patch_size'] = 8
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    assert loader.dataset.names == ['rain100l', 'rain100h']
    batch = next(iter(loader))
    assert all('dataset_idx' in s.metainfo for s in batch['data_samples'])
