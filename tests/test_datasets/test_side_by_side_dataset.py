# Copyright (c) mmderain contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmderain.datasets.side_by_side_dataset import SideBySideDataset
from mmderain.datasets.transforms.side_by_side import \
    SplitSideBySide  # noqa: F401 (registers the transform)
from mmderain.registry import DATASETS

OFFSET = np.array([37, 101, 200], np.uint8)  # clean = rain + OFFSET


def _write(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def _pair(seed, h=8, w=8):
    rain = np.random.default_rng(seed).integers(
        0, 256, (h, w, 3), dtype=np.uint8)
    return rain, rain + OFFSET  # uint8 arithmetic wraps around


def _make(folder, names, clean_left=False):
    """Write ``clean|rain`` or ``rain|clean`` 8x16 BGR files."""
    pairs = {}
    for i, name in enumerate(names):
        rain, clean = _pair(i)
        halves = (clean, rain) if clean_left else (rain, clean)
        _write(folder / name, np.concatenate(halves, axis=1))
        pairs[osp.splitext(name)[0]] = (rain, clean)
    return pairs


def test_listing_natural_order(tmp_path):
    _make(tmp_path, ['10.png', '2.png', '1.png'])
    (tmp_path / 'readme.txt').write_text('not an image')
    (tmp_path / 'sub').mkdir()
    _make(tmp_path / 'sub', ['3.png'])
    ds = SideBySideDataset(order='rain_left', data_root=str(tmp_path))
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == \
        ['1', '2', '10']
    info = ds.get_data_info(2)
    assert info['img_path'] == osp.join(str(tmp_path), '10.png')
    assert info['side_by_side'] == dict(order='rain_left')
    assert 'gt_path' not in info
    assert ds.metainfo['task_name'] == 'derain'


def test_recursive_and_prefix(tmp_path):
    _make(tmp_path / 'train' / 'Rain_Heavy' / 'x', ['2.jpg', '10.jpg'])
    _make(tmp_path / 'train' / 'Rain_Light' / 'x', ['1.jpg'])
    ds = SideBySideDataset(
        order='rain_left',
        data_root=str(tmp_path),
        data_prefix=dict(img='train'),
        recursive=True)
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))
            ] == ['Rain_Heavy/x/2', 'Rain_Heavy/x/10', 'Rain_Light/x/1']
    assert ds.get_data_info(0)['img_path'] == osp.join(
        str(tmp_path), 'train', 'Rain_Heavy/x/2.jpg')


def test_errors(tmp_path):
    with pytest.raises(ValueError, match='needs order=.*Rain800'):
        SideBySideDataset(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='order must be one of'):
        SideBySideDataset(order='left', data_root=str(tmp_path))
    with pytest.raises(ValueError, match='exactly the key "img"'):
        SideBySideDataset(order='rain_left', data_prefix=dict(img='a', gt='b'))
    with pytest.raises(FileNotFoundError, match='folder not found.*nope'):
        SideBySideDataset(order='rain_left', data_root=str(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match='No image'):
        SideBySideDataset(order='rain_left', data_root=str(tmp_path))
    _make(tmp_path, ['1.png', '1.jpg'])
    with pytest.raises(ValueError, match=r'same stem.*1\.(jpg|png)'):
        SideBySideDataset(order='rain_left', data_root=str(tmp_path))


@pytest.mark.parametrize('clean_left', [False, True])
def test_pipeline(tmp_path, clean_left):
    """Load once -> split -> PairedRandomCrop -> PackInputs stay aligned."""
    init_default_scope('mmderain')
    pairs = _make(tmp_path, ['a.png', 'b.png'], clean_left=clean_left)
    pipeline = [
        dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
        dict(type='SplitSideBySide'),
        dict(type='PairedRandomCrop', patch_size=4),
        dict(type='PackInputs', meta_keys=['key', 'crop_bbox']),
    ]
    ds = DATASETS.build(
        dict(
            type='SideBySideDataset',
            order='clean_left' if clean_left else 'rain_left',
            data_root=str(tmp_path),
            pipeline=pipeline))
    for i, stem in enumerate(['a', 'b']):
        np.random.seed(i)
        packed = ds[i]
        img = packed['inputs'].numpy().transpose(1, 2, 0)
        gt = packed['data_samples'].gt_img.numpy().transpose(1, 2, 0)
        meta = packed['data_samples'].metainfo
        assert meta['key'] == stem
        x, y, w, h = meta['crop_bbox']
        rain, clean = pairs[stem]  # BGR on disk, loaded as RGB
        np.testing.assert_array_equal(img, rain[y:y + h, x:x + w, ::-1])
        np.testing.assert_array_equal(gt, clean[y:y + h, x:x + w, ::-1])


def test_pipeline_compose_odd_width(tmp_path):
    init_default_scope('mmderain')
    _write(tmp_path / 'odd.png', np.zeros((8, 15, 3), np.uint8))
    ds = SideBySideDataset(order='rain_left', data_root=str(tmp_path))
    pipeline = Compose([
        dict(type='LoadImageFromFile', key='img'),
        dict(type='SplitSideBySide')
    ])
    with pytest.raises(ValueError, match=r'odd\.png has an odd width'):
        pipeline(ds.get_data_info(0))
