# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``mmderain.datasets.lmdb.reader``: reading packed databases."""
import json
import os
import os.path as osp
import subprocess
import sys
import zlib

import cv2
import lmdb
import numpy as np
import pytest

from mmderain.datasets.lmdb import LmdbImageReader, read_lmdb_image
from mmderain.datasets.lmdb import reader as reader_module
from mmderain.datasets.lmdb.packing import pack_lmdb, verify_lmdb
from tests._helpers import ROOT


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
        pack_lmdb(
            items, str(tmp_path / 'raw.lmdb'), fmt='raw', show_progress=False)
    assert not osp.exists(tmp_path / 'raw.lmdb')
    env = lmdb.open(db, readonly=True, lock=False)
    try:
        np.testing.assert_array_equal(
            read_lmdb_image(env, 'g', fmt='png')[..., 0], gray)
        with pytest.raises(ValueError, match='fmt'):
            read_lmdb_image(env, 'g')
    finally:
        env.close()


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        LmdbImageReader(str(tmp_path / 'nope'))
    (tmp_path / 'half').mkdir()
    with pytest.raises(FileNotFoundError, match='interrupted'):
        LmdbImageReader(str(tmp_path / 'half')).keys()


def test_reader_reopens_in_new_process(tmp_path, items, monkeypatch):
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
    reader = LmdbImageReader(db)
    parent_env = reader.env
    assert reader.env is parent_env  # cached within a process
    monkeypatch.setattr(reader_module.os, 'getpid', lambda: -1)
    child_env = reader.env  # as in a forked DataLoader worker
    assert child_env is not parent_env
    np.testing.assert_array_equal(
        reader.get(items[0][0]), cv2.imread(items[0][1]))
    reader.close()
    monkeypatch.undo()
    parent_env.close()


_READ_ALL = ('import sys; from mmderain.datasets.lmdb import '
             'LmdbImageReader; r = LmdbImageReader(sys.argv[1]); '
             '[r.get(k) for k in r.keys()]')


@pytest.mark.parametrize('recorded', [True, False])
def test_truncated_data_file_raises_not_sigbus(recorded, raw_db):
    """Half a data.mdb is an error naming the file, not SIGBUS (exit 135).

    Run in a subprocess: a SIGBUS shows as a negative return code.
    """
    _, db = raw_db()
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
    proc = subprocess.run([sys.executable, '-c', _READ_ALL, db],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT),
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


def test_flipped_bytes_in_raw_record_named(monkeypatch, raw_db):
    items, db = raw_db()
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


def test_raw_records_carry_crc32(raw_db):
    items, db = raw_db(n=1)
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


def test_raw_pack_without_checksums_still_read(raw_db):
    """Packs of sidecar version 1 (no CRC-32) read, with a warning."""
    items, db = raw_db(n=2)
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


def test_lmdb_errors_name_database_and_key(tmp_path, items, monkeypatch):
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
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
