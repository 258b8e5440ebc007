# Copyright (c) mmderain contributors. All rights reserved.
"""Every dataset switches to LMDB by changing ``backend`` only."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmderain.datasets  # noqa: F401 (registers everything)
from mmderain.datasets import BaseDerainDataset
from mmderain.datasets.lmdb import default_lmdb_root, lmdb_data_list
from mmderain.datasets.lmdb.packing import pack_dataset, plan_pack
from mmderain.registry import DATASETS
from tests._helpers import run_tool, write_pairs

LOAD = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
]


def _write(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def _rand(seed, shape=(8, 10, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def _paired(root):
    write_pairs(root, n=3, size=(8, 10))
    return dict(type='PairedImageDataset', data_root=str(root)), LOAD


def _many_to_one(root):
    for n in (1, 2):
        _write(root / 'ground_truth' / f'{n}.png', _rand(n))
        for j in (1, 2, 3):
            _write(root / 'rainy_image' / f'{n}_{j}.png', _rand(10 * n + j))
    return dict(type='ManyToOneDataset', data_root=str(root)), LOAD


def _index_file(root):
    lines = []
    for i in range(3):
        _write(root / 'rain' / f'r{i}.png', _rand(i))
        _write(root / 'clean' / f'c{i}.png', _rand(100 + i))
        lines.append(f'rain/r{i}.png clean/c{i}.png')
    (root / 'index.txt').write_text('\n'.join(lines) + '\n')
    return dict(
        type='IndexFileDataset', data_root=str(root),
        ann_file='index.txt'), LOAD


def _side_by_side(root):
    for i in range(3):
        _write(root / f'{i}.png', _rand(i, (8, 16, 3)))
    return (dict(
        type='SideBySideDataset', data_root=str(root),
        order='rain_left'), LOAD[:1] + [dict(type='SplitSideBySide')])


def _unpaired(root):
    for i in range(3):
        _write(root / f'photo{i}.jpg', _rand(i))
    return dict(type='UnpairedImageDataset', data_root=str(root)), LOAD[:1]


LAYOUTS = [_paired, _many_to_one, _index_file, _side_by_side, _unpaired]


@pytest.mark.parametrize('layout', LAYOUTS, ids=lambda f: f.__name__[1:])
def test_layouts_inherit_arguments_and_storage(tmp_path, layout):
    """Each layout only lists its files: the shared arguments, their
    checks and the disk/LMDB choice come from ``BaseDerainDataset``."""
    init_default_scope('mmderain')
    ds_cfg, _ = layout(tmp_path / 'data')
    cls = DATASETS.get(ds_cfg['type'])
    assert issubclass(cls, BaseDerainDataset)
    assert 'load_data_list' not in vars(cls)
    ds = DATASETS.build(dict(ds_cfg, test_mode=True, backend_args=None))
    assert ds.test_mode and ds.backend == 'disk' and ds.lmdb_root is None
    assert set(ds.data_prefix) == set(cls.PREFIX_KEYS)
    with pytest.raises(ValueError, match='exactly the key'):
        DATASETS.build(dict(ds_cfg, data_prefix=dict(x='')))


@pytest.mark.parametrize('fmt', ['png', 'raw'])
@pytest.mark.parametrize('layout', LAYOUTS, ids=lambda f: f.__name__[1:])
def test_backend_switch_gives_identical_samples(tmp_path, layout, fmt):
    init_default_scope('mmderain')
    ds_cfg, load = layout(tmp_path / 'data')
    disk = DATASETS.build(dict(ds_cfg, pipeline=load))
    infos = [disk.get_data_info(i) for i in range(len(disk))]
    pack_dataset(
        infos,
        default_lmdb_root(ds_cfg['data_root']),
        fmt=fmt,
        show_progress=False)

    lmdb = DATASETS.build(dict(ds_cfg, pipeline=load, backend='lmdb'))
    assert len(lmdb) == len(disk)
    for i in range(len(disk)):
        a, b = disk[i], lmdb[i]
        for key in ('img', 'gt'):
            if key in a:
                assert np.array_equal(a[key], b[key]), (i, key)
                assert a[f'{key}_channel_order'] == b[f'{key}_channel_order']
        assert a['key'] == b['key'] or layout is _many_to_one


def test_lmdb_mode_errors(tmp_path):
    init_default_scope('mmderain')
    ds_cfg, _ = _paired(tmp_path / 'data')
    with pytest.raises(FileNotFoundError, match='pack_lmdb.py'):
        DATASETS.build(dict(ds_cfg, backend='lmdb'))
    with pytest.raises(ValueError, match='backend'):
        DATASETS.build(dict(ds_cfg, backend='s3'))
    disk = DATASETS.build(ds_cfg)
    infos = [disk.get_data_info(i) for i in range(len(disk))]
    out = str(tmp_path / 'packed')
    pack_dataset(infos, out, show_progress=False)
    with open(osp.join(out, 'pairs.txt'), 'a') as f:
        f.write('ghost norain-9\n')
    with pytest.raises(KeyError, match='ghost'):
        lmdb_data_list(out)
    with pytest.raises(FileExistsError, match='overwrite'):
        pack_dataset(infos, out, show_progress=False)


def test_unpaired_plan_has_no_clean_database():
    img_items, gt_items, pairs = plan_pack([
        dict(img_path='/x/a.jpg', key='a'),
        dict(img_path='/x/b.jpg', key='b')
    ])
    assert gt_items == [] and pairs == [('a', ), ('b', )]


def test_config_switch_with_two_workers(tmp_path):
    """Pack with the CLI from a shipped config, flip one field, load."""
    data = write_pairs(tmp_path / 'train', n=4, size=(24, 28))
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
            'configs', '_base_', 'datasets', 'rain100l_train.py'))
    cfg.train_dataloader.dataset.dataset.data_root = data
    cfg.train_dataloader.dataset.dataset.pipeline[2].patch_size = 16
    cfg.train_dataloader.update(batch_size=2, num_workers=2)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    assert run_tool(
        'dataset_converters/pack_lmdb.py',
        [cfg_path, '--format', 'raw', '--verify', '--no-progress']) == 0
    assert osp.isdir(data + '_lmdb')

    cfg.train_dataloader.dataset.dataset.backend = 'lmdb'  # the only change
    init_default_scope('mmderain')
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    seen = 0
    for batch in loader:
        assert batch['inputs'][0].shape == (3, 16, 16)
        assert all(
            p.startswith(data + '_lmdb')
            for p in [ds.img_path for ds in batch['data_samples']])
        seen += len(batch['inputs'])
    assert seen == 4 * 30  # RepeatDataset times=30


def test_pipeline_compose_reads_lmdb_record_keys(tmp_path):
    """LoadImageFromFile follows [KEY]_db_path / [KEY]_lmdb_key."""
    init_default_scope('mmderain')
    ds_cfg, load = _paired(tmp_path / 'data')
    disk = DATASETS.build(ds_cfg)
    infos = [disk.get_data_info(i) for i in range(len(disk))]
    out = str(tmp_path / 'elsewhere')
    pack_dataset(infos, out, show_progress=False)
    lmdb = DATASETS.build(dict(ds_cfg, backend='lmdb', lmdb_root=out))
    results = Compose(load)(lmdb.get_data_info(0))
    assert results['img'].shape == (8, 10, 3)
    assert results['img_lmdb_key'] == 'norain-1'


@pytest.mark.parametrize('verify', [None, False])
def test_checksum_switch_reaches_the_lmdb_reader(tmp_path, verify):
    """``LoadImageFromFile(verify_checksums=False)`` turns the per-record
    CRC-32 check off for LMDB samples (a config switch)."""
    init_default_scope('mmderain')
    ds_cfg, _ = _paired(tmp_path / 'data')
    disk = DATASETS.build(ds_cfg)
    out = str(tmp_path / 'packed')
    pack_dataset([disk.get_data_info(i) for i in range(len(disk))],
                 out,
                 fmt='raw',
                 show_progress=False)
    lmdb = DATASETS.build(dict(ds_cfg, backend='lmdb', lmdb_root=out))
    load = Compose([
        dict(
            type='LoadImageFromFile',
            key='img',
            channel_order='rgb',
            verify_checksums=verify)
    ])
    results = load(lmdb.get_data_info(0))
    assert results['img'].shape == (8, 10, 3)
    reader, = load.transforms[0]._lmdb_loader._readers.values()
    assert reader.verify_checksums is (verify is None)
