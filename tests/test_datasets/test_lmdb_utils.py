# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``mmderain.datasets.lmdb_utils``."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
import zlib

import cv2
import lmdb
import numpy as np
import pytest

from mmderain.datasets import lmdb_utils
from mmderain.datasets.lmdb_utils import (LmdbImageReader, LmdbVerifyError,
                                          pack_lmdb, read_lmdb_image,
                                          read_meta_info, verify_lmdb)
from tests._helpers import write_pairs


def _items(root, sub='norain'):
    folder = osp.join(root, sub)
    return [(osp.splitext(n)[0], osp.join(folder, n))
            for n in sorted(os.listdir(folder))]


@pytest.fixture
def pairs(tmp_path):
    return write_pairs(tmp_path / 'data', n=3, size=(8, 12))


@pytest.mark.parametrize('fmt', ['png', 'raw'])
def test_pack_verify_read_round_trip(tmp_path, pairs, fmt):
    items = _items(pairs)
    db = str(tmp_path / f'{fmt}.lmdb')
    assert pack_lmdb(items, db, fmt=fmt, show_progress=False) == db
    assert sorted(os.listdir(db)) == [
        'data.mdb', 'lock.mdb', 'meta_info.txt', 'mmderain_lmdb.json'
    ]
    with open(osp.join(db, 'mmderain_lmdb.json')) as f:
        assert json.load(f)['format'] == fmt
    lines = open(osp.join(db, 'meta_info.txt')).read().splitlines()
    level = 1 if fmt == 'png' else 0
    assert lines == [f'{k} (8,12,3) {level}' for k, _ in items]
    assert read_meta_info(db) == {k: (8, 12, 3) for k, _ in items}

    report = verify_lmdb(items, db)
    assert report['ok'] and report['checked'] == 3
    reader = LmdbImageReader(db)
    assert reader.keys() == [k for k, _ in items] and len(reader) == 3
    assert reader.format == fmt
    for key, path in items:
        img = reader.get(key)
        assert img.dtype == np.uint8 and img.shape == (8, 12, 3)
        np.testing.assert_array_equal(img, cv2.imread(path))
        np.testing.assert_array_equal(read_lmdb_image(db, key), img)
    if fmt == 'raw':  # raw records need no decoding
        buf = reader.get_bytes(items[0][0])
        np.testing.assert_array_equal(
            np.frombuffer(buf, np.uint8).reshape(8, 12, 3),
            cv2.imread(items[0][1]))
    with pytest.raises(KeyError, match='nope'):
        reader.get('nope')
    # a reader pickles without its environment (DataLoader workers)
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._env is None
    np.testing.assert_array_equal(clone.get(items[1][0]),
                                  reader.get(items[1][0]))
    reader.close()


def test_png_db_readable_by_mmagic_loader(tmp_path, pairs):
    from mmderain.datasets.transforms import LoadImageFromFile
    items = _items(pairs)
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
    load = LoadImageFromFile(
        key='gt', backend_args=dict(backend='lmdb', db_path=db))
    out = load(dict(gt_path=f'whatever/{items[0][0]}.png'))
    np.testing.assert_array_equal(out['gt'], cv2.imread(items[0][1]))


def test_read_from_env_and_gray_16bit(tmp_path):
    gray = np.arange(96, dtype=np.uint8).reshape(8, 12)
    deep = (np.arange(288, dtype=np.uint16) * 200).reshape(8, 12, 3)
    cv2.imwrite(str(tmp_path / 'g.png'), gray)
    cv2.imwrite(str(tmp_path / 'd.png'), deep)
    items = [('g', str(tmp_path / 'g.png')), ('d', str(tmp_path / 'd.png'))]
    db = pack_lmdb(items, str(tmp_path / 'png.lmdb'), show_progress=False)
    assert verify_lmdb(items, db)['ok']
    reader = LmdbImageReader(db)
    assert reader.get('g').shape == (8, 12, 1)
    assert reader.get('d').dtype == np.uint16
    with pytest.raises(ValueError, match='uint8 images only.*d.png'):
        pack_lmdb(items, str(tmp_path / 'raw.lmdb'), fmt='raw',
                  show_progress=False)
    assert not osp.exists(tmp_path / 'raw.lmdb')
    env = lmdb.open(db, readonly=True, lock=False)
    try:
        np.testing.assert_array_equal(
            read_lmdb_image(env, 'g', fmt='png')[..., 0], gray)
        with pytest.raises(ValueError, match='fmt'):
            read_lmdb_image(env, 'g')
    finally:
        env.close()


def test_non_ascii_and_duplicate_keys_refused(tmp_path, pairs):
    path = _items(pairs)[0][1]
    items = [(f'régen-{i}', path) for i in range(12)] + [('ok', path)]
    with pytest.raises(ValueError) as err:
        pack_lmdb(items, str(tmp_path / 'a.lmdb'), show_progress=False)
    msg = str(err.value)
    assert '12 key(s) are not ASCII' in msg and "'régen-0'" in msg
    assert '(2 more)' in msg and "'ok'" not in msg
    with pytest.raises(ValueError, match="duplicate key.*'a'"):
        pack_lmdb([('a', path), ('b', path), ('a', path)],
                  str(tmp_path / 'b.lmdb'), show_progress=False)
    with pytest.raises(ValueError, match='whitespace'):
        pack_lmdb([('a b', path)], str(tmp_path / 'c.lmdb'),
                  show_progress=False)
    assert os.listdir(tmp_path) == ['data']


def test_missing_source_named(tmp_path, pairs):
    items = _items(pairs) + [('gone', str(tmp_path / 'gone.png'))]
    with pytest.raises(FileNotFoundError, match='gone.png'):
        pack_lmdb(items, str(tmp_path / 'a.lmdb'), show_progress=False)
    assert sorted(os.listdir(tmp_path)) == ['data']


def test_interrupted_pack_leaves_nothing(tmp_path, pairs, monkeypatch):
    items = _items(pairs)
    calls = []
    real = lmdb_utils._write_batch

    def failing(env, batch, size):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(env, batch, size)

    monkeypatch.setattr(lmdb_utils, '_write_batch', failing)
    db = tmp_path / 'x.lmdb'
    with pytest.raises(KeyboardInterrupt):
        pack_lmdb(items, str(db), batch=1, show_progress=False)
    assert calls == [1, 1]
    assert not db.exists()
    assert sorted(os.listdir(tmp_path)) == ['data']  # temp dir removed


def test_overwrite(tmp_path, pairs):
    items = _items(pairs)
    db = str(tmp_path / 'x.lmdb')
    pack_lmdb(items[:1], db, show_progress=False)
    with pytest.raises(FileExistsError, match='overwrite'):
        pack_lmdb(items, db, show_progress=False)
    assert LmdbImageReader(db).keys() == [items[0][0]]
    pack_lmdb(items, db, fmt='raw', overwrite=True, show_progress=False)
    reader = LmdbImageReader(db)
    assert reader.keys() == [k for k, _ in items] and reader.format == 'raw'
    assert sorted(os.listdir(tmp_path)) == ['data', 'x.lmdb']


def test_map_grows_when_full(tmp_path):
    rng = np.random.default_rng(0)
    items = []
    for i in range(3):  # 3 x 30 KB of incompressible pixels
        path = str(tmp_path / f'{i}.png')
        cv2.imwrite(path, rng.integers(0, 256, (80, 125, 3), np.uint8))
        items.append((str(i), path))
    db = str(tmp_path / 'x.lmdb')
    pack_lmdb(items, db, fmt='raw', map_size=32 * 1024, batch=2,
              show_progress=False)
    assert verify_lmdb(items, db)['ok']
    # the 90 KB of records only fit because the map grew
    assert osp.getsize(osp.join(db, 'data.mdb')) > 64 * 1024


def test_verify_detects_mismatch_and_missing(tmp_path, pairs):
    items = _items(pairs)
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
    img = cv2.imread(items[1][1])
    img[0, 0] = img[0, 0] ^ 1
    cv2.imwrite(items[1][1], img)
    cv2.imwrite(items[2][1], img[:4])
    extra = items + [('extra', items[0][1])]
    with pytest.raises(LmdbVerifyError) as err:
        verify_lmdb(extra, db)
    msg = str(err.value)
    assert '1 missing key(s)' in msg and "'extra'" in msg
    assert '2 mismatched' in msg and 'pixels differ' in msg
    assert '(4, 12, 3)' in msg
    report = verify_lmdb(extra, db, raise_error=False)
    assert not report['ok'] and report['missing'] == ['extra']
    assert [k for k, _ in report['mismatched']] == [items[1][0], items[2][0]]
    os.remove(items[0][1])
    report = verify_lmdb(items, db, raise_error=False)
    assert report['unreadable_sources'][0][0] == items[0][0]


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        LmdbImageReader(str(tmp_path / 'nope'))
    (tmp_path / 'half').mkdir()
    with pytest.raises(FileNotFoundError, match='interrupted'):
        LmdbImageReader(str(tmp_path / 'half')).keys()


def test_reader_reopens_in_new_process(tmp_path, pairs, monkeypatch):
    items = _items(pairs)
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
    reader = LmdbImageReader(db)
    parent_env = reader.env
    assert reader.env is parent_env  # cached within a process
    monkeypatch.setattr(lmdb_utils.os, 'getpid', lambda: -1)
    child_env = reader.env  # as in a forked DataLoader worker
    assert child_env is not parent_env
    np.testing.assert_array_equal(reader.get(items[0][0]),
                                  cv2.imread(items[0][1]))
    reader.close()
    monkeypatch.undo()
    parent_env.close()


def _raw_db(tmp_path, n=3, shape=(64, 80, 3)):
    """A raw database of random (incompressible, findable) images."""
    rng = np.random.default_rng(1)
    items = []
    for i in range(n):
        path = str(tmp_path / f'src{i}.png')
        cv2.imwrite(path, rng.integers(0, 256, shape, np.uint8))
        items.append((f'k{i}', path))
    db = pack_lmdb(
        items, str(tmp_path / 'raw.lmdb'), fmt='raw', show_progress=False)
    return items, db


_READ_ALL = ('import sys; from mmderain.datasets.lmdb_utils import '
             'LmdbImageReader; r = LmdbImageReader(sys.argv[1]); '
             '[r.get(k) for k in r.keys()]')


@pytest.mark.parametrize('recorded', [True, False])
def test_truncated_data_file_raises_not_sigbus(tmp_path, recorded):
    """Half a data.mdb is an error naming the file, not SIGBUS (exit 135).

    Run in a subprocess: a SIGBUS shows as a negative return code.
    """
    _, db = _raw_db(tmp_path)
    data = osp.join(db, 'data.mdb')
    size = osp.getsize(data)
    side = osp.join(db, 'mmderain_lmdb.json')
    with open(side) as f:
        meta = json.load(f)
    if not recorded:  # a pack of an older version: LMDB's header is used
        meta.pop('data_size', None)
        with open(side, 'w') as f:
            json.dump(meta, f)
    os.truncate(data, size // 2)
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    proc = subprocess.run([sys.executable, '-c', _READ_ALL, db],
                          capture_output=True,
                          text=True,
                          cwd=root,
                          env=dict(os.environ, PYTHONPATH=root),
                          timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert 'LmdbCorruptError' in proc.stderr and data in proc.stderr
    assert 'truncated or still being copied' in proc.stderr
    assert str(size // 2) in proc.stderr
    if recorded:
        assert meta['data_size'] == size
        assert str(size) in proc.stderr  # the recorded size


def _flip_byte(db, pixels):
    """Flip one byte of ``pixels`` where they are stored in data.mdb."""
    data = osp.join(db, 'data.mdb')
    with open(data, 'rb') as f:
        raw = bytearray(f.read())
    at = raw.find(pixels)
    assert at >= 0 and raw.find(pixels, at + 1) < 0
    raw[at + 100] ^= 0x10
    with open(data, 'wb') as f:
        f.write(raw)


def test_flipped_bytes_in_raw_record_named(tmp_path, monkeypatch):
    items, db = _raw_db(tmp_path)
    pixels = cv2.imread(items[1][1]).tobytes()
    _flip_byte(db, pixels)
    reader = LmdbImageReader(db)
    with pytest.raises(OSError) as err:  # LmdbCorruptError
        reader.get('k1')
    assert db in str(err.value) and "'k1'" in str(err.value)
    assert 'CRC-32' in str(err.value)
    np.testing.assert_array_equal(reader.get('k0'), cv2.imread(items[0][1]))
    with pytest.raises(OSError, match="'k1'"):
        reader.get_bytes('k1')
    report = verify_lmdb(items, db, raise_error=False)
    assert [k for k, _ in report['mismatched']] == ['k1']
    assert 'CRC-32' in report['mismatched'][0][1]

    # the switch: no check, the flipped pixel is returned as stored
    for off in (LmdbImageReader(db, verify_checksums=False),
                _env_reader(monkeypatch, db)):
        img = off.get('k1')
        assert img.tobytes() != pixels
        assert (img.reshape(-1) != np.frombuffer(pixels, np.uint8)).sum() == 1
        assert off.get_bytes('k1') == img.tobytes()


def _env_reader(monkeypatch, db):
    monkeypatch.setenv('MMDERAIN_LMDB_VERIFY_CHECKSUMS', '0')
    reader = LmdbImageReader(db)
    assert not reader.verify_checksums
    return reader


def test_raw_records_carry_crc32(tmp_path):
    items, db = _raw_db(tmp_path, n=1)
    pixels = cv2.imread(items[0][1]).tobytes()
    reader = LmdbImageReader(db)
    with reader.env.begin() as txn:
        value = txn.get(b'k0')
    assert value == pixels + zlib.crc32(pixels).to_bytes(4, 'little')
    assert reader.get_bytes('k0') == pixels
    assert reader.sidecar['checksum'] == 'crc32'
    env = lmdb.open(db, readonly=True, lock=False)
    try:  # an environment alone: the CRC-32 is recognised by the length
        np.testing.assert_array_equal(
            read_lmdb_image(env, 'k0', fmt='raw', shape=(64, 80, 3)),
            cv2.imread(items[0][1]))
    finally:
        env.close()


def test_raw_pack_without_checksums_still_read(tmp_path):
    """Packs of sidecar version 1 (no CRC-32) read, with a warning."""
    items, db = _raw_db(tmp_path, n=2)
    env = lmdb.open(db, map_size=16 * 1024**2)
    with env.begin(write=True) as txn:
        for key, path in items:
            txn.put(key.encode(), cv2.imread(path).tobytes())
    env.close()
    with open(osp.join(db, 'mmderain_lmdb.json'), 'w') as f:
        json.dump(dict(format='raw', dtype='uint8', count=2, version=1), f)
    reader = LmdbImageReader(db)
    with pytest.warns(UserWarning, match='re-pack'):
        img = reader.get('k1')
    np.testing.assert_array_equal(img, cv2.imread(items[1][1]))
    with pytest.warns(UserWarning, match='without checksums'):
        assert verify_lmdb(items, db)['ok']


class _BrokenEnv:
    """An environment whose reads fail as on a damaged B-tree page."""

    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        return getattr(self._env, name)

    def begin(self, **kwargs):
        raise lmdb.CorruptedError('MDB_CORRUPTED: Located page was wrong')


def test_lmdb_errors_name_database_and_key(tmp_path, pairs, monkeypatch):
    db = pack_lmdb(_items(pairs), str(tmp_path / 'x.lmdb'),
                   show_progress=False)
    real_open = lmdb.open
    monkeypatch.setattr(lmdb, 'open',
                        lambda *a, **k: _BrokenEnv(real_open(*a, **k)))
    with pytest.raises(OSError) as err:
        LmdbImageReader(db).get('norain-2')
    msg = str(err.value)
    assert db in msg and "'norain-2'" in msg and 'MDB_CORRUPTED' in msg
    monkeypatch.undo()
    with pytest.raises(KeyError, match="'régen'.*x.lmdb"):
        LmdbImageReader(db).get('régen')

    # a data.mdb that is no LMDB file (and no recorded size)
    side = osp.join(db, 'mmderain_lmdb.json')
    with open(side) as f:
        meta = json.load(f)
    del meta['data_size']
    with open(side, 'w') as f:
        json.dump(meta, f)
    with open(osp.join(db, 'data.mdb'), 'wb') as f:
        f.write(b'not an lmdb file' * 10)
    with pytest.raises(OSError, match=f'Cannot open LMDB {db}'):
        LmdbImageReader(db).get('norain-2')


def test_overwrite_refuses_what_is_not_a_database(tmp_path, pairs):
    items = _items(pairs)
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('precious')
    with pytest.raises(FileExistsError, match='no mmderain_lmdb.json'):
        pack_lmdb(items, str(mine), overwrite=True, show_progress=False)
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
    (tmp_path / 'x.lmdb' / 'notes.txt').write_text('precious')
    with pytest.raises(FileExistsError, match='did not write: notes.txt'):
        pack_lmdb(items, db, overwrite=True, show_progress=False)
    # a folder holding the sources (or above them) is never an output
    with pytest.raises(ValueError, match='holds source images'):
        pack_lmdb(items, pairs, overwrite=True, show_progress=False)
    with pytest.raises(ValueError, match='holds source images'):
        pack_lmdb(items, str(tmp_path), overwrite=True, show_progress=False)
    assert (mine / 'notes.txt').read_text() == 'precious'
    assert (tmp_path / 'x.lmdb' / 'notes.txt').read_text() == 'precious'
    assert sorted(os.listdir(pairs)) == ['norain', 'rain']
    assert sorted(os.listdir(tmp_path)) == ['data', 'mine', 'x.lmdb']
