# Copyright (c) mmderain contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmderain.datasets import PairedImageDataset, natural_sort_key
from mmderain.registry import DATASETS


def _write(path, h=8, w=8, value=0):
    """Write a small constant BGR image, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((h, w, 3), value, np.uint8))


def _make(root, img_dir, gt_dir, stems, img_tmpl='{}', ext='.png'):
    for i, stem in enumerate(stems):
        _write(root / img_dir / f'{img_tmpl.format(stem)}{ext}', value=i)
        _write(root / gt_dir / f'{stem}{ext}', value=i)


STEMS = ['norain-10', 'norain-2', 'norain-1', 'norain-100']
ORDER = ['norain-1', 'norain-2', 'norain-10', 'norain-100']


def test_natural_sort_key():
    names = ['b10', 'a2', 'B1', 'a10', 'a1', 'x', '10', '9']
    assert sorted(
        names, key=natural_sort_key) == [
            '9', '10', 'a1', 'a2', 'a10', 'B1', 'b10', 'x'
        ]


@pytest.mark.parametrize('layout', ['auto', 'same_name'])
def test_rain_norain_same_name(tmp_path, layout):
    _make(tmp_path, 'rain', 'norain', STEMS)
    (tmp_path / 'rain' / 'notes.txt').write_text('not an image')
    ds = PairedImageDataset(data_root=str(tmp_path), layout=layout)
    assert len(ds) == 4
    assert [ds.get_data_info(i)['key'] for i in range(4)] == ORDER
    info = ds.get_data_info(2)
    assert info['img_path'] == osp.join(str(tmp_path), 'rain', 'norain-10.png')
    assert info['gt_path'] == osp.join(
        str(tmp_path), 'norain', 'norain-10.png')
    assert ds.img_name_tmpl_used == '{}'
    assert ds.metainfo['task_name'] == 'derain'


def test_input_target_mixed_case_suffix(tmp_path):
    _write(tmp_path / 'input' / '1.PNG')
    _write(tmp_path / 'target' / '1.png')
    _write(tmp_path / 'input' / '2.jpg')
    _write(tmp_path / 'target' / '2.JPEG')
    ds = PairedImageDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img='input', gt='target'),
        layout='same_name')
    keys = [ds.get_data_info(i)['key'] for i in range(len(ds))]
    assert keys == ['1', '2']
    assert ds.get_data_info(0)['img_path'].endswith('1.PNG')
    assert ds.get_data_info(1)['gt_path'].endswith('2.JPEG')
    # suffix filter: only png, so the jpg pair disappears
    ds = PairedImageDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img='input', gt='target'),
        img_suffix='PNG')
    assert len(ds) == 1


@pytest.mark.parametrize('layout', ['rain200', 'auto'])
def test_rain200(tmp_path, layout):
    _make(tmp_path, 'rain/X2', 'norain', STEMS, img_tmpl='{}x2')
    ds = PairedImageDataset(
        data_root=str(tmp_path),
        data_prefix=dict(img='rain/X2', gt='norain'),
        layout=layout)
    assert ds.img_name_tmpl_used == '{}x2'
    assert [ds.get_data_info(i)['key'] for i in range(4)] == ORDER
    info = ds.get_data_info(3)
    assert osp.basename(info['img_path']) == 'norain-100x2.png'
    assert osp.basename(info['gt_path']) == 'norain-100.png'


def test_custom_template_auto_and_explicit(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['1', '2', '11'], img_tmpl='rain-{}_s')
    for kwargs in (dict(layout='auto'),
                   dict(layout='template', img_name_tmpl='rain-{}_s'),
                   dict(img_name_tmpl='rain-{}_s')):
        ds = PairedImageDataset(data_root=str(tmp_path), **kwargs)
        assert ds.img_name_tmpl_used == 'rain-{}_s'
        assert [ds.get_data_info(i)['key'] for i in range(3)] == \
            ['1', '2', '11']


def test_build_from_registry_is_ours(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['a'])
    ds = DATASETS.build(
        dict(type='PairedImageDataset', data_root=str(tmp_path)))
    assert type(ds) is PairedImageDataset


def test_unmatched_files(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['norain-1', 'norain-2'])
    _write(tmp_path / 'rain' / 'norain-7.png')
    for i in range(12):
        _write(tmp_path / 'norain' / f'extra-{i}.png')
    with pytest.raises(ValueError) as exc:
        PairedImageDataset(data_root=str(tmp_path), layout='same_name')
    msg = str(exc.value)
    assert 'norain-7.png' in msg
    assert '1 rainy file(s) without a clean partner' in msg
    assert '12 clean file(s) without a rainy partner' in msg
    assert 'extra-0.png, extra-1.png' in msg and '(2 more)' in msg
    assert 'extra-11.png' not in msg
    assert str(tmp_path / 'rain') in msg and str(tmp_path / 'norain') in msg


def test_rain200_names_need_template(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['norain-1'], img_tmpl='{}x2')
    with pytest.raises(ValueError, match='norain-1x2.png'):
        PairedImageDataset(data_root=str(tmp_path), layout='same_name')


def test_missing_and_empty_folders(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['a'])
    with pytest.raises(FileNotFoundError, match='target'):
        PairedImageDataset(
            data_root=str(tmp_path), data_prefix=dict(img='rain', gt='target'))
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match='empty'):
        PairedImageDataset(
            data_root=str(tmp_path),
            data_prefix=dict(img='empty', gt='norain'))


def test_ambiguous_stem(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['a'])
    _write(tmp_path / 'rain' / 'a.jpg')
    with pytest.raises(ValueError, match='same stem'):
        PairedImageDataset(data_root=str(tmp_path))


def test_bad_arguments(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['a'])
    root = str(tmp_path)
    with pytest.raises(ValueError, match='layout'):
        PairedImageDataset(data_root=root, layout='rain1400')
    with pytest.raises(ValueError, match='img_name_tmpl'):
        PairedImageDataset(data_root=root, layout='template')
    with pytest.raises(ValueError, match='contradicts'):
        PairedImageDataset(
            data_root=root, layout='same_name', img_name_tmpl='{}x2')
    with pytest.raises(ValueError, match='exactly one'):
        PairedImageDataset(data_root=root, img_name_tmpl='x2')
    with pytest.raises(ValueError, match='data_prefix'):
        PairedImageDataset(data_root=root, data_prefix=dict(lq='rain'))


def test_ann_file(tmp_path):
    _make(tmp_path, 'rain', 'norain', ['3', '1'], img_tmpl='{}x2')
    _write(tmp_path / 'rain' / 'same.png')
    _write(tmp_path / 'norain' / 'same.png')
    (tmp_path / 'pairs.txt'
     ).write_text('# rainy clean\n3x2.png 3.png\n\n1x2.png  1.png\nsame.png\n')
    ds = PairedImageDataset(data_root=str(tmp_path), ann_file='pairs.txt')
    assert [ds.get_data_info(i)['key'] for i in range(3)] == \
        ['3', '1', 'same']  # listed order kept
    assert ds.get_data_info(0)['img_path'] == osp.join(
        str(tmp_path), 'rain', '3x2.png')
    (tmp_path / 'bad.txt').write_text('3x2.png 3.png\nnope.png 1.png\n')
    with pytest.raises(FileNotFoundError, match='nope.png'):
        PairedImageDataset(data_root=str(tmp_path), ann_file='bad.txt')


def test_pipeline_catches_size_mismatch(tmp_path):
    init_default_scope('mmderain')
    _write(tmp_path / 'rain' / 'a.png', 8, 8)
    _write(tmp_path / 'norain' / 'a.png', 8, 10)
    ds = PairedImageDataset(
        data_root=str(tmp_path),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='CheckPairedSize'),
            dict(type='PackInputs'),
        ])
    with pytest.raises(ValueError) as exc:
        ds[0]
    msg = str(exc.value)
    assert 'rain' in msg and osp.join('norain', 'a.png') in msg
    assert '8x8' in msg and '8x10' in msg


def test_rain100l_real(data_root):
    root = osp.join(data_root, 'rain100l')
    if not osp.isdir(root):
        pytest.fail(f'MMDERAIN_DATA={data_root!r} has no rain100l/ folder')
    for split, num in (('test', 100), ('train', 200)):
        ds = PairedImageDataset(data_root=osp.join(root, split))
        assert len(ds) == num
        keys = [ds.get_data_info(i)['key'] for i in range(num)]
        assert keys == [f'norain-{i}' for i in range(1, num + 1)]
        info = ds.get_data_info(num - 1)
        assert osp.isfile(info['img_path']) and osp.isfile(info['gt_path'])
