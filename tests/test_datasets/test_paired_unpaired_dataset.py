# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of PairedUnpairedDataset (SSID-KD's synthetic + real samples)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mmderain.datasets import PairedUnpairedDataset
from mmderain.registry import MODELS
from tests._helpers import write_pairs

CROP = 8


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmderain')


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    """3 pairs of 12x14 and 4 'real' photos of different sizes."""
    tmp = tmp_path_factory.mktemp('semi')
    paired = write_pairs(osp.join(tmp, 'pairs'), n=3, size=(12, 14), seed=1)
    real = osp.join(tmp, 'real')
    rng = np.random.default_rng(0)
    for k, size in enumerate([(10, 11), (16, 9), (9, 20), (12, 12)]):
        img = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
        os.makedirs(real, exist_ok=True)
        cv2.imwrite(osp.join(real, f'{k + 1}.png'), img)
    return paired, real


def _dataset(roots, pipeline=None, **kwargs):
    paired, real = roots
    return PairedUnpairedDataset(
        paired=dict(
            type='PairedImageDataset',
            data_root=paired,
            pipeline=[
                dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                dict(type='PairedRandomCrop', patch_size=CROP),
            ]),
        unpaired=dict(
            type='UnpairedImageDataset',
            data_root=real,
            pipeline=[
                dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='PairedRandomCrop', patch_size=CROP, keys=['img']),
            ]),
        pipeline=pipeline,
        **kwargs)


def test_sample_holds_a_pair_and_a_real_crop_from_the_files(roots):
    ds = _dataset(roots, pipeline=[])
    assert len(ds) == 3
    np.random.seed(0)
    seen = set()
    for _ in range(30):
        out = ds[1]
        assert out['img'].shape == out['gt'].shape == (CROP, CROP, 3)
        assert out['real_img'].shape == (CROP, CROP, 3)
        assert out['img_path'].endswith('norain-2.png')
        # the real crop is a crop of the file it names (RGB)
        full = cv2.imread(out['real_img_path'])[..., ::-1]
        found = any(
            np.array_equal(full[y:y + CROP, x:x + CROP], out['real_img'])
            for y in range(full.shape[0] - CROP + 1)
            for x in range(full.shape[1] - CROP + 1))
        assert found
        seen.add(out['real_img_key'])
    assert seen == {'1', '2', '3', '4'}  # uniform draws reach every photo


def test_packed_batch_reaches_the_model_normalised(roots):
    ds = _dataset(roots)
    batch = [ds[i] for i in range(3)]
    pre = MODELS.build(
        dict(
            type='DerainDataPreprocessor',
            mean=[0., 0., 0.],
            std=[255., 255., 255.],
            output_channel_order='RGB',
            optional_data_keys=['real_img']))
    data = pre(
        dict(
            inputs=[b['inputs'] for b in batch],
            data_samples=[b['data_samples'] for b in batch]),
        training=True)
    real = data['data_samples'].real_img
    assert real.shape == data['inputs'].shape == (3, 3, CROP, CROP)
    # RGB in [0, 1], exactly the packed uint8 crop / 255
    raw = torch.stack([b['data_samples'].real_img for b in batch]).float()
    assert data['data_samples'].metainfo['real_img_path'][0].endswith('.png')
    torch.testing.assert_close(real, raw / 255., rtol=0, atol=1e-7)


def test_bad_configs_are_named(roots, tmp_path):
    with pytest.raises(ValueError, match='unpaired_key'):
        _dataset(roots, unpaired_key='gt')
    paired, real = roots
    ds = PairedUnpairedDataset(
        paired=dict(type='PairedImageDataset', data_root=paired),
        unpaired=dict(
            type='UnpairedImageDataset', data_root=real,
            pipeline=[]))  # the image is never loaded
    with pytest.raises(ValueError, match='no "img" after its pipeline'):
        ds[0]
