# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``LoadImageFromLmdb``, the LMDB path of ``LoadImageFromFile``."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mmderain.datasets import PairedImageDataset
from mmderain.datasets.lmdb.packing import pack_lmdb
from mmderain.datasets.transforms import LoadImageFromFile
from mmderain.datasets.transforms.lmdb_loading import LoadImageFromLmdb
from mmderain.registry import DATASETS, TRANSFORMS
from tests._helpers import write_pairs


def _pack(tmp_path, fmt, n=3):
    data = write_pairs(tmp_path / 'data', n=n, size=(8, 12))
    root = tmp_path / f'lmdb_{fmt}'
    for name, sub in (('img', 'rain'), ('gt', 'norain')):
        folder = osp.join(data, sub)
        items = [(osp.splitext(f)[0], osp.join(folder, f))
                 for f in sorted(os.listdir(folder))]
        pack_lmdb(
            items, str(root / f'{name}.lmdb'), fmt=fmt, show_progress=False)
    return data, str(root)


@pytest.mark.parametrize('fmt', ['png', 'raw'])
@pytest.mark.parametrize('order', ['bgr', 'rgb'])
def test_matches_load_image_from_file(tmp_path, fmt, order):
    data, root = _pack(tmp_path, fmt)
    path = osp.join(data, 'rain', 'norain-2.png')
    ref = LoadImageFromFile(
        key='img', channel_order=order)(
            dict(img_path=path))
    load = LoadImageFromLmdb(
        key='img', db_path=osp.join(root, 'img.lmdb'), channel_order=order)
    out = load(dict(img_path=path))  # key from the file stem
    for k in ('ori_img_shape', 'img_channel_order', 'img_color_type'):
        assert out[k] == ref[k]
    np.testing.assert_array_equal(out['img'], ref['img'])
    assert out['img'].flags.writeable
    out = LoadImageFromLmdb(
        key='img', to_float32=True)(
            dict(
                img_db_path=osp.join(root, 'img.lmdb'),
                img_lmdb_key='norain-2'))
    assert out['img'].dtype == np.float32


def test_color_types(tmp_path):
    gray = np.arange(96, dtype=np.uint8).reshape(8, 12)
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    db = pack_lmdb([('g', str(tmp_path / 'g.png'))],
                   str(tmp_path / 'g.lmdb'),
                   fmt='raw',
                   show_progress=False)
    res = dict(img_lmdb_key='g')
    out = LoadImageFromLmdb('img', db_path=db)(dict(res))
    assert out['img'].shape == (8, 12, 3)
    out = LoadImageFromLmdb(
        'img', db_path=db, color_type='unchanged')(
            dict(res))
    np.testing.assert_array_equal(out['img'][..., 0], gray)
    with pytest.raises(ValueError, match='color_type'):
        LoadImageFromLmdb('img', color_type='colour')
    with pytest.raises(KeyError, match='db_path'):
        LoadImageFromLmdb('img')(dict(res))
    with pytest.raises(KeyError, match="'nope'"):
        LoadImageFromLmdb('img', db_path=db)(dict(img_lmdb_key='nope'))


def test_one_lmdb_route():
    """LMDB samples are read by ``LoadImageFromFile`` of datasets with
    ``backend='lmdb'``; there is no second dataset or transform for it."""
    init_default_scope('mmderain')
    assert TRANSFORMS.get('LoadImageFromLmdb') is None
    assert DATASETS.get('LmdbPairedDataset') is None


@pytest.mark.parametrize('fmt', ['png', 'raw'])
def test_lmdb_dataset_and_two_workers(tmp_path, fmt):
    """Readers opened in the main process are reopened in every worker."""
    init_default_scope('mmderain')
    data, root = _pack(tmp_path, fmt, n=4)
    ds = PairedImageDataset(
        data_root=data,
        backend='lmdb',
        lmdb_root=root,
        pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=4),
            dict(type='PackInputs'),
        ])
    assert len(ds) == 4
    info = ds.get_data_info(1)
    assert info['img_lmdb_key'] == info['gt_lmdb_key'] == 'norain-2'
    ds[0]  # opens the environments in the main process before forking
    loader = DataLoader(
        ds, batch_size=2, num_workers=2, collate_fn=pseudo_collate)
    seen = []
    for _ in range(2):  # two epochs: workers started twice
        for batch in loader:
            assert all(x.shape == (3, 4, 4) for x in batch['inputs'])
            assert all(x.dtype == torch.uint8 for x in batch['inputs'])
            seen += [
                osp.basename(s.metainfo['img_path'])
                for s in batch['data_samples']
            ]
    assert sorted(seen) == sorted([f'norain-{i}' for i in range(1, 5)] * 2)
