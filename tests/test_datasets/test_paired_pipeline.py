# Copyright (c) mmderain contributors. All rights reserved.
"""A full training pipeline keeps rainy/clean pairs aligned."""
import cv2
import numpy as np
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mmderain.datasets import PairedImageDataset

OFFSET = np.array([37, 101, 200], np.uint8)  # gt = rain + OFFSET (mod 256)


def _pipeline(patch=8):
    return [
        dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
        dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
        dict(type='PairedRandomCrop', patch_size=patch),
        dict(type='Flip', keys=['img', 'gt'], direction='horizontal'),
        dict(type='Flip', keys=['img', 'gt'], direction='vertical'),
        dict(type='RandomTransposeHW', keys=['img', 'gt']),
        # mmagic's DataSample keeps only known meta keys unless listed
        dict(
            type='PackInputs',
            meta_keys=['key', 'crop_bbox', 'flip_infos', 'transpose']),
    ]


def _write_pair(tmp_path, h=16, w=12):
    rng = np.random.default_rng(0)
    rain = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # rgb
    gt = rain + OFFSET  # uint8 arithmetic wraps around
    for folder, img in (('rain', rain), ('norain', gt)):
        (tmp_path / folder).mkdir()
        assert cv2.imwrite(str(tmp_path / folder / 'a.png'), img[..., ::-1])
    return rain, gt


def _hwc(tensor):
    return tensor.numpy().transpose(1, 2, 0)


def test_pipeline_keeps_pairs_aligned(tmp_path):
    init_default_scope('mmderain')
    rain, gt = _write_pair(tmp_path)
    pipeline = Compose(_pipeline())
    info = dict(
        img_path=str(tmp_path / 'rain' / 'a.png'),
        gt_path=str(tmp_path / 'norain' / 'a.png'),
        key='a')
    seen = set()
    for seed in range(40):
        np.random.seed(seed)
        packed = pipeline(dict(info))
        img = _hwc(packed['inputs'])
        out_gt = _hwc(packed['data_samples'].gt_img)
        assert img.shape == (8, 8, 3)
        np.testing.assert_array_equal(out_gt, img + OFFSET)  # aligned

        # and it is the recorded crop, flipped/transposed as recorded
        meta = packed['data_samples'].metainfo
        x, y, w, h = meta['crop_bbox']
        expected = rain[y:y + h, x:x + w]
        flips = tuple(f['flip'] for f in meta['flip_infos'])
        if flips[0]:
            expected = expected[:, ::-1]
        if flips[1]:
            expected = expected[::-1]
        if meta['transpose']:
            expected = expected.transpose(1, 0, 2)
        np.testing.assert_array_equal(img, expected)
        seen.add(flips + (meta['transpose'], ))
    assert len(seen) == 8  # every flip/transpose combination was exercised


def test_dataset_with_pipeline(tmp_path):
    init_default_scope('mmderain')
    _write_pair(tmp_path)
    ds = PairedImageDataset(data_root=str(tmp_path), pipeline=_pipeline(4))
    packed = ds[0]
    img = _hwc(packed['inputs'])
    np.testing.assert_array_equal(
        _hwc(packed['data_samples'].gt_img), img + OFFSET)
    assert packed['data_samples'].metainfo['key'] == 'a'
