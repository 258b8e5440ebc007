# Copyright (c) mmderain contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmderain.datasets.many_to_one_dataset import ManyToOneDataset
from mmderain.registry import DATASETS


def _write(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((8, 8, 3), value, np.uint8))


def _make(root, clean=(1, 2), k=3, ext='.jpg'):
    for n in clean:
        _write(root / 'ground_truth' / f'{n}{ext}', value=n)
        for j in range(1, k + 1):
            _write(root / 'rainy_image' / f'{n}_{j}{ext}', value=n + j)


def test_ddn_layout(tmp_path):
    _make(tmp_path, clean=(1, 2, 10), k=11)
    ds = ManyToOneDataset(data_root=str(tmp_path))
    assert len(ds) == 33
    keys = [ds.get_data_info(i)['key'] for i in range(len(ds))]
    assert keys[:3] == ['1_1', '1_2', '1_3'] and keys[10] == '1_11'
    assert keys[11] == '2_1' and keys[-1] == '10_11'
    assert len(set(keys)) == len(keys)
    info = ds.get_data_info(12)
    assert info['img_path'] == osp.join(
        str(tmp_path), 'rainy_image', '2_2.jpg')
    assert info['gt_path'] == osp.join(str(tmp_path), 'ground_truth', '2.jpg')


def test_custom_pattern_and_prefix(tmp_path):
    for n in ('a', 'b'):
        _write(tmp_path / 'clean' / f'{n}.png')
        for j in (1, 2):
            _write(tmp_path / 'rain' / f'{n}-r{j}.png')
    ds = ManyToOneDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img='rain', gt='clean'),
        rain_pattern=r'(.+)-r\d+$')  # unnamed group 1
    assert [d['key'] for d in ds.load_data_list()] == \
        ['a-r1', 'a-r2', 'b-r1', 'b-r2']
    assert ds.get_data_info(3)['gt_path'].endswith('b.png')


def test_missing_clean_names_rainy_files(tmp_path):
    _make(tmp_path, clean=(1, 2, 3))
    (tmp_path / 'ground_truth' / '2.jpg').unlink()
    with pytest.raises(ValueError) as err:
        ManyToOneDataset(data_root=str(tmp_path))
    msg = str(err.value)
    assert '3 rainy file(s)' in msg
    assert '2_1.jpg, 2_2.jpg, 2_3.jpg' in msg and 'stems: 2.*' in msg
    assert '1_1.jpg' not in msg


def test_unmatched_and_unused(tmp_path):
    _make(tmp_path, clean=(1, 2))
    _write(tmp_path / 'rainy_image' / 'odd.jpg')
    with pytest.raises(ValueError, match=r"rain_pattern.*odd\.jpg"):
        ManyToOneDataset(data_root=str(tmp_path))
    (tmp_path / 'rainy_image' / 'odd.jpg').unlink()
    _write(tmp_path / 'ground_truth' / '5.jpg')
    with pytest.raises(ValueError, match=r'1 clean file.*5\.jpg'):
        ManyToOneDataset(data_root=str(tmp_path))
    ds = ManyToOneDataset(data_root=str(tmp_path), allow_unused_gt=True)
    assert len(ds) == 6


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match='needs a group'):
        ManyToOneDataset(data_root=str(tmp_path), rain_pattern=r'.+_\d+')
    with pytest.raises(ValueError, match='Invalid rain_pattern'):
        ManyToOneDataset(data_root=str(tmp_path), rain_pattern='(')
    with pytest.raises(ValueError, match='exactly the keys'):
        ManyToOneDataset(data_prefix=dict(img='a'))
    with pytest.raises(FileNotFoundError, match='rainy_image'):
        ManyToOneDataset(data_root=str(tmp_path))


def test_build_with_pipeline(tmp_path):
    init_default_scope('mmderain')
    _make(tmp_path, clean=(1, ), k=2)
    ds = DATASETS.build(
        dict(
            type='ManyToOneDataset',
            data_root=str(tmp_path),
            pipeline=[
                dict(type='LoadImageFromFile', key='img'),
                dict(type='LoadImageFromFile', key='gt'),
                dict(type='PairedRandomCrop', patch_size=4),
                dict(type='PackInputs'),
            ]))
    packed = ds[1]
    assert packed['inputs'].shape == (3, 4, 4)
    assert packed['data_samples'].gt_img.shape == (3, 4, 4)
