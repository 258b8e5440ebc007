# Copyright (c) mmderain contributors. All rights reserved.
import os.path as osp
import re

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmderain.datasets.index_file_dataset import SPA_GT_RULE, IndexFileDataset
from mmderain.registry import DATASETS


def _write(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))


SPA = [('real_world/000/000-0/000-0_1-1.png',
        'real_world_gt/000/000-0/000-0.png'),
       ('real_world/000/000-0/000-0_1-2.png',
        'real_world_gt/000/000-0/000-0.png'),
       ('real_world/001/001-3/001-3_2-1.png',
        'real_world_gt/001/001-3/001-3.png')]


def _make_spa(root, lines, write=True, name='real_world.txt'):
    if write:
        for rain, gt in SPA:
            _write(root / rain)
            _write(root / gt)
    (root / name).write_text('\n'.join(lines) + '\n')
    return name


def test_two_columns(tmp_path):
    lines = ['# SPA list', ''] + [f'/{r} ./{g}' for r, g in SPA]
    ann = _make_spa(tmp_path, lines)
    ds = IndexFileDataset(ann_file=ann, data_root=str(tmp_path))
    assert len(ds) == 3
    info = ds.get_data_info(2)
    assert info['key'] == 'real_world/001/001-3/001-3_2-1'
    assert info['img_path'] == osp.join(str(tmp_path), SPA[2][0])
    assert info['gt_path'] == osp.join(str(tmp_path), SPA[2][1])
    assert ds.metainfo['task_name'] == 'derain'


def test_one_column_with_rule(tmp_path):
    ann = _make_spa(tmp_path, [r for r, _ in SPA])
    ds = IndexFileDataset(
        ann_file=ann, data_root=str(tmp_path), gt_rule=SPA_GT_RULE)
    assert [d['gt_path'] for d in ds.load_data_list()
            ] == [osp.join(str(tmp_path), g) for _, g in SPA]
    with pytest.raises(ValueError, match=r'real_world.txt:1: one path only'):
        IndexFileDataset(ann_file=ann, data_root=str(tmp_path))
    with pytest.raises(ValueError, match=r'txt:1: gt_rule .* does not apply'):
        IndexFileDataset(
            ann_file=ann, data_root=str(tmp_path), gt_rule=('xyz', 'a'))


def test_prefix(tmp_path):
    _write(tmp_path / 'rain' / 'a.png')
    _write(tmp_path / 'clean' / 'a.png')
    (tmp_path / 'list.txt').write_text('a.png a.png\n')
    ds = IndexFileDataset(
        ann_file='list.txt',
        data_root=str(tmp_path),
        data_prefix=dict(img='rain', gt='clean'))
    assert ds.get_data_info(0)['gt_path'] == osp.join(
        str(tmp_path), 'clean', 'a.png')


def test_missing_files_listed_with_line_numbers(tmp_path):
    lines = [f'{r} {g}' for r, g in SPA]
    lines += [f'missing/{i}.png {SPA[0][1]}' for i in range(12)]
    ann = _make_spa(tmp_path, lines)
    with pytest.raises(FileNotFoundError) as err:
        IndexFileDataset(ann_file=ann, data_root=str(tmp_path))
    msg = str(err.value)
    assert '12 file(s) listed in' in msg and 'real_world.txt' in msg
    assert 'missing/0.png (real_world.txt:4)' in msg
    assert 'missing/9.png (real_world.txt:13)' in msg
    assert 'missing/10.png' not in msg and '(2 more)' in msg
    # lazy: nothing is checked with check_files=False
    ds = IndexFileDataset(
        ann_file=ann, data_root=str(tmp_path), check_files=False)
    assert len(ds) == 15


def test_malformed(tmp_path):
    _make_spa(tmp_path, ['a b c'], write=False, name='bad.txt')
    with pytest.raises(ValueError, match=re.escape('bad.txt:1: expected')):
        IndexFileDataset(ann_file='bad.txt', data_root=str(tmp_path))
    _make_spa(
        tmp_path, ['a.png b.png', '# x', 'a.png c.png'],
        write=False,
        name='dup.txt')
    with pytest.raises(ValueError, match=r'dup.txt:3: .*a.png .*line 1'):
        IndexFileDataset(
            ann_file='dup.txt', data_root=str(tmp_path), check_files=False)
    _make_spa(tmp_path, ['# only comments'], write=False, name='empty.txt')
    with pytest.raises(ValueError, match='empty.txt lists no pair'):
        IndexFileDataset(ann_file='empty.txt', data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='Index file not found'):
        IndexFileDataset(ann_file='nope.txt', data_root=str(tmp_path))
    with pytest.raises(ValueError, match='needs ann_file'):
        IndexFileDataset(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='gt_rule must be'):
        IndexFileDataset(ann_file='x', gt_rule=('a', ))


def test_build_with_pipeline(tmp_path):
    init_default_scope('mmderain')
    ann = _make_spa(tmp_path, [f'{r} {g}' for r, g in SPA])
    ds = DATASETS.build(
        dict(
            type='IndexFileDataset',
            ann_file=ann,
            data_root=str(tmp_path),
            pipeline=[
                dict(type='LoadImageFromFile', key='img'),
                dict(type='LoadImageFromFile', key='gt'),
                dict(type='CheckPairedSize'),
                dict(type='PackInputs'),
            ]))
    assert ds[0]['inputs'].shape == (3, 8, 8)
