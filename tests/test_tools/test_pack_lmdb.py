# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``tools/dataset_converters/pack_lmdb.py``."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmderain.datasets.lmdb import (LmdbImageReader, atomic_output,
                                    lmdb_data_list)
from mmderain.datasets.lmdb.packing import pack_dataset, plan_pack
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
    assert sorted(os.listdir(out)) == [
        'gt.lmdb', 'img.lmdb', 'mmderain_pack.json', 'pairs.txt'
    ]
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
    assert run_tool(
        TOOL,
        [cfg, '--out', out, '--overwrite', '--verify', '--no-progress']) == 0
    assert sorted(os.listdir(tmp_path)) == ['cfg.py', 'data', 'out']


def test_pack_from_dirs(tmp_path):
    data = write_pairs(tmp_path / 'data', n=2, size=(8, 12))
    out = str(tmp_path / 'out')
    assert run_tool(TOOL, [
        '--img-dir',
        osp.join(data, 'rain'), '--gt-dir',
        osp.join(data, 'norain'), '--out', out, '--format', 'raw', '--verify',
        '--no-progress'
    ]) == 0
    assert LmdbImageReader(osp.join(
        out, 'gt.lmdb')).keys() == ['norain-1', 'norain-2']


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
    os.rename(
        osp.join(data, 'rain', 'norain-1.png'),
        osp.join(data, 'rain', 'pluie-é.png'))
    os.rename(
        osp.join(data, 'norain', 'norain-1.png'),
        osp.join(data, 'norain', 'pluie-é.png'))
    with pytest.raises(ValueError, match='not ASCII'):
        run_tool(TOOL, [
            '--img-dir',
            osp.join(data, 'rain'), '--gt-dir',
            osp.join(data, 'norain'), '--out',
            str(tmp_path / 'o')
        ])
    assert sorted(os.listdir(tmp_path)) == ['data']


def _tree(root):
    """Relative path -> bytes of every file under ``root``."""
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            path = osp.join(d, n)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def _run_cli(args, cwd=None):
    """Run the tool in a new process (a SIGBUS shows as a return code)."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    return subprocess.run(
        [sys.executable, osp.join(root, 'tools', TOOL), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300)


def test_overwrite_never_deletes_the_sources(tmp_path):
    """Issue 19 item 4: ``--out victim --overwrite`` with the sources in
    ``victim`` deleted them and exited 0."""
    victim = tmp_path / 'victim'
    write_pairs(victim, n=2, size=(8, 12))
    (victim / 'notes.txt').write_text('unrelated')
    before = _tree(victim)
    proc = _run_cli([
        '--img-dir',
        str(victim / 'rain'), '--gt-dir',
        str(victim / 'norain'), '--out',
        str(victim), '--overwrite', '--no-progress'
    ],
                    cwd=str(tmp_path))
    assert proc.returncode != 0
    assert 'holds source images' in proc.stderr and str(victim) in proc.stderr
    assert _tree(victim) == before
    assert sorted(os.listdir(tmp_path)) == ['victim']


def _infos(data):
    return [
        dict(
            key=f'norain-{i}',
            img_path=osp.join(data, 'rain', f'norain-{i}.png'),
            gt_path=osp.join(data, 'norain', f'norain-{i}.png'))
        for i in (1, 2)
    ]


def test_overwrite_replaces_only_packs(tmp_path):
    data = write_pairs(tmp_path / 'data', n=2, size=(8, 12))
    infos = _infos(data)
    user = tmp_path / 'user'
    user.mkdir()
    (user / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='no mmderain_pack.json'):
        pack_dataset(infos, str(user), overwrite=True, show_progress=False)
    with pytest.raises(ValueError, match='holds source images'):
        pack_dataset(infos, str(tmp_path), overwrite=True, show_progress=False)
    out = str(tmp_path / 'out')
    pack_dataset(infos, out, show_progress=False)
    assert sorted(os.listdir(out)) == [
        'gt.lmdb', 'img.lmdb', 'mmderain_pack.json', 'pairs.txt'
    ]
    with open(osp.join(out, 'mmderain_pack.json')) as f:
        assert json.load(f)['complete'] is True
    (tmp_path / 'out' / 'img.lmdb' / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='img.lmdb: .*keep.txt'):
        pack_dataset(infos, out, overwrite=True, show_progress=False)
    os.remove(osp.join(out, 'img.lmdb', 'keep.txt'))
    # a pack of an older version (no marker) is still replaced
    os.remove(osp.join(out, 'mmderain_pack.json'))
    pack_dataset(infos, out, fmt='raw', overwrite=True, show_progress=False)
    assert LmdbImageReader(osp.join(out, 'img.lmdb')).format == 'raw'
    assert (user / 'keep.txt').read_text() == 'mine'
    assert sorted(os.listdir(tmp_path)) == ['data', 'out', 'user']


def test_interrupted_replace_keeps_old_pack(tmp_path, monkeypatch):
    """Two renames (no atomic exchange): the second one fails."""
    data = write_pairs(tmp_path / 'data', n=2, size=(8, 12))
    infos = _infos(data)
    out = str(tmp_path / 'out')
    pack_dataset(infos, out, fmt='png', show_progress=False)
    old = _tree(out)
    monkeypatch.setattr(
        atomic_output, '_exchange', lambda a, b: False, raising=False)
    real_rename = os.rename

    def rename(src, dst):
        if dst == out and src == f'{out}.tmp-{os.getpid()}':  # new -> out
            raise KeyboardInterrupt
        return real_rename(src, dst)

    monkeypatch.setattr(atomic_output.os, 'rename', rename)
    with pytest.raises(KeyboardInterrupt):
        pack_dataset(
            infos, out, fmt='raw', overwrite=True, show_progress=False)
    monkeypatch.undo()
    assert _tree(out) == old  # the old pack, untouched, in place
    assert LmdbImageReader(osp.join(out, 'gt.lmdb')).format == 'png'
    assert sorted(os.listdir(tmp_path)) == ['data', 'out']


def test_replace_is_an_atomic_exchange(tmp_path, monkeypatch):
    """Where the system can, old and new packs swap in one step; a run
    interrupted right after it leaves the new pack and no leftover."""
    data = write_pairs(tmp_path / 'data', n=2, size=(8, 12))
    infos = _infos(data)
    out = str(tmp_path / 'out')
    pack_dataset(infos, out, fmt='png', show_progress=False)
    real = atomic_output._exchange
    swapped = []

    def exchange(a, b):
        swapped.append(real(a, b))
        if not swapped[-1]:
            pytest.skip('renameat2(RENAME_EXCHANGE) unavailable here')
        assert osp.isfile(osp.join(a, 'img.lmdb', 'data.mdb'))  # old one
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_output, '_exchange', exchange)
    with pytest.raises(KeyboardInterrupt):
        pack_dataset(
            infos, out, fmt='raw', overwrite=True, show_progress=False)
    assert swapped == [True]
    assert LmdbImageReader(osp.join(out, 'gt.lmdb')).format == 'raw'
    assert sorted(os.listdir(tmp_path)) == ['data', 'out']


def _dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_leftovers_of_killed_runs(tmp_path):
    data = write_pairs(tmp_path / 'data', n=2, size=(8, 12))
    infos = _infos(data)
    out = str(tmp_path / 'out')
    pack_dataset(infos, out, show_progress=False)
    pid = _dead_pid()
    # killed between the two renames: the old pack waits as .old-<pid>
    os.rename(out, f'{out}.old-{pid}')
    # killed while packing: a marked, partial temporary folder
    partial = f'{out}.tmp-{pid}'
    os.makedirs(osp.join(partial, 'img.lmdb.tmp-1'))
    with open(osp.join(partial, 'mmderain_pack.json'), 'w') as f:
        json.dump(dict(complete=False), f)
    # a look-alike that is not ours is reported and left
    stranger = tmp_path / f'out.tmp-{_dead_pid()}'
    stranger.mkdir()
    (stranger / 'mine.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='--overwrite'), \
            pytest.warns(UserWarning, match='out.tmp-.*not ours'):
        pack_dataset(infos, out, show_progress=False)
    assert sorted(os.listdir(tmp_path)) == ['data', 'out', stranger.name]
    assert LmdbImageReader(osp.join(
        out, 'img.lmdb')).keys() == ['norain-1', 'norain-2']
    assert (stranger / 'mine.txt').read_text() == 'mine'


def test_verify_only_on_truncated_pack(tmp_path):
    """``--verify-only`` on a half-copied data.mdb: a message, not SIGBUS."""
    data = write_pairs(tmp_path / 'data', n=3, size=(64, 80))
    out = str(tmp_path / 'out')
    args = [
        '--img-dir',
        osp.join(data, 'rain'), '--gt-dir',
        osp.join(data, 'norain'), '--out', out, '--format', 'raw',
        '--no-progress'
    ]
    assert run_tool(TOOL, args) == 0
    mdb = osp.join(out, 'img.lmdb', 'data.mdb')
    os.truncate(mdb, osp.getsize(mdb) // 2)
    proc = _run_cli(args + ['--verify-only'])
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert mdb in proc.stderr and 'truncated' in proc.stderr
    # a dataset reading the pack stops when it is built, not in a worker
    with pytest.raises(OSError, match=f'{mdb} has .* bytes.*truncated'):
        lmdb_data_list(out)
