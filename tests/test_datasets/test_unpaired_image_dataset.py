# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of UnpairedImageDataset."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmderain.datasets.unpaired_image_dataset import UnpairedImageDataset

PIPELINE = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='PairedRandomCrop', patch_size=8, keys=['img']),
    dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]


@pytest.fixture(autouse=True)
def _scope():
    """Build transforms of the mmderain scope."""
    init_default_scope('mmderain')


def _write(path, size=(10, 12)):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.random.default_rng(0).integers(0, 255, (*size, 3), np.uint8)
    cv2.imwrite(str(path), img)


@pytest.fixture
def folder(tmp_path):
    """Images 1, 2, 10 (mixed case extensions), a text file, a sub-folder."""
    for name in ('10.jpg', '2.PNG', '1.png', 'sub/3.jpg'):
        _write(tmp_path / name)
    (tmp_path / 'notes.txt').write_text('not an image')
    return str(tmp_path)


def test_natural_order_and_keys(folder):
    ds = UnpairedImageDataset(data_root=folder)
    assert [d['key'] for d in ds] == ['1', '2', '10']
    assert ds[2]['img_path'] == osp.join(folder, '10.jpg')
    assert set(ds[0]) == {'img_path', 'key', 'sample_idx'}
    assert ds.metainfo['dataset_type'] == 'unpaired_image_dataset'


def test_recursive_prefix_and_suffix(folder):
    ds = UnpairedImageDataset(data_root=folder, recursive=True)
    assert [d['key'] for d in ds] == ['1', '2', '10', 'sub/3']
    assert ds[3]['img_path'] == osp.join(folder, 'sub', '3.jpg')
    sub = UnpairedImageDataset(data_root=folder, data_prefix=dict(img='sub'))
    assert [d['key'] for d in sub] == ['3']
    jpg = UnpairedImageDataset(data_root=folder, img_suffix='jpg')
    assert [d['key'] for d in jpg] == ['10']
    no_root = UnpairedImageDataset(data_prefix=dict(img=folder))
    assert len(no_root) == 3


def test_ann_file(folder):
    ann = osp.join(folder, 'list.txt')
    with open(ann, 'w') as f:
        f.write('# real photos\n10.jpg\n\nsub/3.jpg\n')
    ds = UnpairedImageDataset(data_root=folder, ann_file='list.txt')
    assert [d['key'] for d in ds] == ['10', 'sub/3']
    with open(ann, 'a') as f:
        f.write('gone.jpg\n')
    with pytest.raises(FileNotFoundError, match='gone.jpg'):
        UnpairedImageDataset(data_root=folder, ann_file='list.txt')
    with open(ann, 'w') as f:
        f.write('1.png 2.PNG\n')
    with pytest.raises(ValueError, match='list.txt:1'):
        UnpairedImageDataset(data_root=folder, ann_file='list.txt')


def test_missing_and_empty_folder(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        UnpairedImageDataset(data_root=missing)
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match='No image.*empty'):
        UnpairedImageDataset(data_root=str(empty))
    with pytest.raises(ValueError, match='"img"'):
        UnpairedImageDataset(
            data_root=str(empty), data_prefix=dict(img='', gt=''))


def test_pipeline_single_key_crop(folder):
    ds = UnpairedImageDataset(data_root=folder, pipeline=PIPELINE)
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    sample = out['data_samples']
    assert sample.metainfo['img_path'] == osp.join(folder, '1.png')
    assert 'gt_img' not in sample


def test_real_internet(data_root):
    root = osp.join(data_root, 'real_internet')
    if not osp.isdir(root):
        pytest.fail(f'{root} is missing')
    ds = UnpairedImageDataset(data_root=root, pipeline=PIPELINE)
    assert len(ds) == 147
    assert [ds.get_data_info(i)['key'] for i in range(3)] == ['1', '2', '3']
    out = Compose(PIPELINE)(ds.get_data_info(146))
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    assert out['data_samples'].metainfo['img_path'].endswith('147.jpg')


def test_config_builds(folder):
    from mmengine.config import Config
    from mmengine.runner import Runner
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs', '_base_', 'datasets',
                 'real_internet_unpaired.py'))
    assert cfg.real_data_root == 'data/real_internet'
    for name in ('unpaired_train_dataloader', 'unpaired_test_dataloader'):
        loader_cfg = cfg[name].to_dict()
        loader_cfg.update(num_workers=0, persistent_workers=False)
        loader_cfg['dataset']['data_root'] = folder
        if name == 'unpaired_train_dataloader':
            loader_cfg['dataset']['pipeline'][1]['patch_size'] = 8
            loader_cfg['batch_size'] = 2
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        batch = next(iter(loader))
        shape = (3, 8, 8) if 'train' in name else (3, 10, 12)
        assert tuple(batch['inputs'][0].shape) == shape
