# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``tools/dataset_converters/pack_lmdb.py``."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmderain.datasets.lmdb_backend import plan_pack
from mmderain.datasets.lmdb_utils import LmdbImageReader
from tests._helpers import run_tool, tiny_prenet_cfg, write_pairs

TOOL = 'dataset_converters/pack_lmdb.py'


def _config(tmp_path, repeat=True):
    data = write_pairs(tmp_path / 'data', n=3, size=(8, 12))
    cfg = tiny_prenet_cfg(data, str(tmp_path / 'work'))
    if repeat:
        ds = cfg['train_dataloader']['dataset']
        cfg['train_dataloader']['dataset'] = dict(
            type='RepeatDataset', times=5, dataset=ds)
    path = str(tmp_path / 'cfg.py')
    Config(cfg).dump(path)
    return data, path


@pytest.mark.parametrize('fmt', ['png', 'raw'])
def test_pack_from_config_and_verify(tmp_path, fmt, capsys):
    data, cfg = _config(tmp_path)
    out = str(tmp_path / 'out')
    assert run_tool(TOOL, [
        cfg, '--split', 'train', '--out', out, '--format', fmt, '--verify',
        '--no-progress'
    ]) == 0
    assert sorted(os.listdir(out)) == ['gt.lmdb', 'img.lmdb', 'pairs.txt']
    assert sorted(os.listdir(tmp_path)) == ['cfg.py', 'data', 'out']
    keys = [f'norain-{i}' for i in range(1, 4)]
    assert open(osp.join(out, 'pairs.txt')).read().split('\n')[:-1] == [
        f'{k} {k}' for k in keys
    ]
    for name, sub in (('img', 'rain'), ('gt', 'norain')):
        reader = LmdbImageReader(osp.join(out, f'{name}.lmdb'))
        assert reader.keys() == keys and reader.format == fmt
        np.testing.assert_array_equal(
            reader.get('norain-3'),
            cv2.imread(osp.join(data, sub, 'norain-3.png')))
    assert 'images OK' in capsys.readouterr().out

    # refuses to overwrite; --verify-only detects a changed source
    with pytest.raises(FileExistsError, match='--overwrite'):
        run_tool(TOOL, [cfg, '--out', out, '--no-progress'])
    src = osp.join(data, 'rain', 'norain-2.png')
    cv2.imwrite(src, 255 - cv2.imread(src))
    assert run_tool(TOOL,
                    [cfg, '--out', out, '--verify-only', '--no-progress']) == 1
    err = capsys.readouterr().err
    assert 'FAILED' in err and "'norain-2'" in err and 'img.lmdb' in err
    assert run_tool(TOOL, [
        cfg, '--out', out, '--overwrite', '--verify', '--no-progress'
    ]) == 0
    assert sorted(os.listdir(tmp_path)) == ['cfg.py', 'data', 'out']


def test_pack_from_dirs(tmp_path):
    data = write_pairs(tmp_path / 'data', n=2, size=(8, 12))
    out = str(tmp_path / 'out')
    assert run_tool(TOOL, [
        '--img-dir', osp.join(data, 'rain'), '--gt-dir',
        osp.join(data, 'norain'), '--out', out, '--format', 'raw',
        '--verify', '--no-progress'
    ]) == 0
    assert LmdbImageReader(osp.join(out, 'gt.lmdb')).keys() == [
        'norain-1', 'norain-2'
    ]


def test_many_rainy_per_clean(tmp_path):
    """DDN-like: each clean image is packed once, pairs.txt maps them."""
    infos = [
        dict(img_path=f'/r/{g}_{j}.png', gt_path=f'/c/{g}.png', key=g)
        for g in ('a', 'b') for j in (1, 2)
    ]
    img_items, gt_items, pairs = plan_pack(infos)
    assert [k for k, _ in img_items] == ['a_1', 'a_2', 'b_1', 'b_2']
    assert gt_items == [('a', '/c/a.png'), ('b', '/c/b.png')]
    assert pairs[1] == ('a_2', 'a')
    infos[1]['gt_path'] = '/c/other.png'
    with pytest.raises(ValueError, match='different files'):
        plan_pack(infos)


def test_errors(tmp_path):
    with pytest.raises(SystemExit):
        run_tool(TOOL, ['--out', str(tmp_path / 'o')])
    with pytest.raises(SystemExit):
        run_tool(TOOL, ['--img-dir', 'x', '--out', str(tmp_path / 'o')])
    with pytest.raises(FileNotFoundError, match='nope.py'):
        run_tool(TOOL, [str(tmp_path / 'nope.py'), '--out', 'o'])
    data = write_pairs(tmp_path / 'data', n=1, size=(8, 12))
    os.rename(osp.join(data, 'rain', 'norain-1.png'),
              osp.join(data, 'rain', 'pluie-é.png'))
    os.rename(osp.join(data, 'norain', 'norain-1.png'),
              osp.join(data, 'norain', 'pluie-é.png'))
    with pytest.raises(ValueError, match='not ASCII'):
        run_tool(TOOL, [
            '--img-dir', osp.join(data, 'rain'), '--gt-dir',
            osp.join(data, 'norain'), '--out', str(tmp_path / 'o')
        ])
    assert sorted(os.listdir(tmp_path)) == ['data']
