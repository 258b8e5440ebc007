# Copyright (c) mmderain contributors. All rights reserved.
"""Every dataset base config loads and runs on a tiny copy of its layout."""
import copy
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

# register the datasets and the transform of the layouts below
import mmderain.datasets.index_file_dataset  # noqa: F401
import mmderain.datasets.many_to_one_dataset  # noqa: F401
import mmderain.datasets.side_by_side_dataset  # noqa: F401
import mmderain.datasets.transforms.side_by_side  # noqa: F401
from mmderain.registry import DATASETS

CFG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    '_base_', 'datasets')
SIZE = 100  # train configs crop 100x100 patches


def _write(path, w=SIZE):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.zeros((SIZE, w, 3), np.uint8))


def _paired(img, gt, img_tmpl='{}', stem='norain-1'):

    def make(root):
        _write(root / img / f'{img_tmpl.format(stem)}.png')
        _write(root / gt / f'{stem}.png')

    return make


def _side_by_side(sub=''):

    def make(root):
        _write(root / sub / '1.jpg', w=2 * SIZE)

    return make


def _ddn(root):
    _write(root / 'ground_truth' / '1.jpg')
    for k in (1, 2):
        _write(root / 'rainy_image' / f'1_{k}.jpg')


def _spa(name):

    def make(root):
        _write(root / 'real_world/000/000-0/000-0_1-1.png')
        _write(root / 'real_world_gt/000/000-0/000-0.png')
        (root / name).write_text('/real_world/000/000-0/000-0_1-1.png '
                                 '/real_world_gt/000/000-0/000-0.png\n')

    return make


# config -> (dataset type, builder of a tiny copy of its layout, length)
CONFIGS = {
    'rain100l_train': ('PairedImageDataset', _paired('rain', 'norain'), 1),
    'rain100l_test': ('PairedImageDataset', _paired('rain', 'norain'), 1),
    'rain100h_train': ('PairedImageDataset', _paired('rain', 'norain'), 1),
    'rain100h_test': ('PairedImageDataset', _paired('rain', 'norain'), 1),
    'rain200l_train':
    ('PairedImageDataset', _paired('rain/X2', 'norain', '{}x2'), 1),
    'rain200l_test': ('PairedImageDataset', _paired('rain/X2', 'norain',
                                                    '{}x2'), 1),
    'rain200h_train':
    ('PairedImageDataset', _paired('rain/X2', 'norain', '{}x2'), 1),
    'rain200h_test': ('PairedImageDataset', _paired('rain/X2', 'norain',
                                                    '{}x2'), 1),
    'rain13k_train': ('PairedImageDataset', _paired('input', 'target'), 1),
    'test100_test': ('PairedImageDataset', _paired('input', 'target'), 1),
    'test1200_test': ('PairedImageDataset', _paired('input', 'target'), 1),
    'test2800_test': ('PairedImageDataset', _paired('input', 'target'), 1),
    'rain800_train': ('SideBySideDataset', _side_by_side(), 1),
    'rain800_test': ('SideBySideDataset', _side_by_side(), 1),
    'did_mdn_train': ('SideBySideDataset',
                      _side_by_side('Rain_Heavy/train2018new'), 1),
    'did_mdn_test': ('SideBySideDataset', _side_by_side(), 1),
    'ddn_rain1400_train': ('ManyToOneDataset', _ddn, 2),
    'ddn_rain1400_test': ('ManyToOneDataset', _ddn, 2),
    'spa_train': ('IndexFileDataset', _spa('real_world.txt'), 1),
    'spa_test': ('IndexFileDataset', _spa('real_test_1000.txt'), 1),
}


def _datasets(cfg):
    """(loader name, innermost dataset cfg, outer dataset cfg) triples."""
    out = []
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if name not in cfg:
            continue
        outer = cfg[name]['dataset']
        inner = outer['dataset'] if 'dataset' in outer else outer
        out.append((name, inner, outer))
    return out


def test_layout_configs_exist():
    files = {
        osp.splitext(f)[0]
        for f in os.listdir(CFG_DIR) if f.endswith('.py')
    }
    assert set(CONFIGS) <= files


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_loads_and_runs(name, tmp_path):
    init_default_scope('mmderain')
    ds_type, make, length = CONFIGS[name]
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    loaders = _datasets(cfg)
    assert loaders, f'{name} defines no dataloader'
    for loader, inner, outer in loaders:
        assert inner['type'] == ds_type, (name, loader)
        assert inner['data_root'].startswith('data/'), (name, loader)
        assert '_delete_' not in str(inner)
        assert inner.get('test_mode', False) == (loader != 'train_dataloader')
        root = tmp_path / inner['data_root']
        if not root.exists():
            make(root)
        outer = copy.deepcopy(outer)
        target = outer['dataset'] if 'dataset' in outer else outer
        target['data_root'] = str(root)
        dataset = DATASETS.build(outer)
        times = outer.get('times', 1)
        assert len(dataset) == length * times
        packed = dataset[0]
        # train: 100x100 crops; test: the full (100x100) images
        assert packed['inputs'].shape == (3, SIZE, SIZE)
        assert packed['data_samples'].gt_img.shape == (3, SIZE, SIZE)
    if 'test_dataloader' in cfg:
        assert cfg.val_dataloader == cfg.test_dataloader


def test_real_internet_test_config(tmp_path):
    """The unpaired test base: the rainy images only, scored with NIQE."""
    init_default_scope('mmderain')
    cfg = Config.fromfile(osp.join(CFG_DIR, 'real_internet_test.py'))
    assert 'val_dataloader' not in cfg and 'val_evaluator' not in cfg
    assert cfg.test_evaluator == [dict(type='MatlabNIQE')]
    from mmderain.registry import METRICS
    assert METRICS.build(cfg.test_evaluator[0]).metric == 'NIQE'
    dataset = copy.deepcopy(cfg.test_dataloader['dataset'])
    assert dataset['type'] == 'UnpairedImageDataset'
    assert dataset['data_root'] == 'data/real_internet'
    assert dataset['test_mode']
    root = tmp_path / dataset['data_root']
    for name in ('2.jpg', '10.jpg'):
        _write(root / name)
    dataset['data_root'] = str(root)
    built = DATASETS.build(dataset)
    assert [built.get_data_info(i)['key'] for i in range(2)] == ['2', '10']
    packed = built[0]
    assert packed['inputs'].shape == (3, SIZE, SIZE)
    assert 'gt_img' not in packed['data_samples']
