# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``mmderain.datasets.lmdb.packing``: writing and verifying."""
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest

from mmderain.datasets.lmdb import (LmdbImageReader, packing, read_lmdb_image,
                                    read_meta_info)
from mmderain.datasets.lmdb.packing import (LmdbVerifyError, pack_lmdb,
                                            verify_lmdb)


@pytest.mark.parametrize('fmt', ['png', 'raw'])
def test_pack_verify_read_round_trip(tmp_path, items, fmt):
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
    np.testing.assert_array_equal(
        clone.get(items[1][0]), reader.get(items[1][0]))
    reader.close()


def test_png_db_readable_by_mmagic_loader(tmp_path, items):
    from mmderain.datasets.transforms import LoadImageFromFile
    db = pack_lmdb(items, str(tmp_path / 'x.lmdb'), show_progress=False)
    load = LoadImageFromFile(
        key='gt', backend_args=dict(backend='lmdb', db_path=db))
    out = load(dict(gt_path=f'whatever/{items[0][0]}.png'))
    np.testing.assert_array_equal(out['gt'], cv2.imread(items[0][1]))


def test_non_ascii_and_duplicate_keys_refused(tmp_path, items):
    path = items[0][1]
    items = [(f'régen-{i}', path) for i in range(12)] + [('ok', path)]
    with pytest.raises(ValueError) as err:
        pack_lmdb(items, str(tmp_path / 'a.lmdb'), show_progress=False)
    msg = str(err.value)
    assert '12 key(s) are not ASCII' in msg and "'régen-0'" in msg
    assert '(2 more)' in msg and "'ok'" not in msg
    with pytest.raises(ValueError, match="duplicate key.*'a'"):
        pack_lmdb([('a', path), ('b', path), ('a', path)],
                  str(tmp_path / 'b.lmdb'),
                  show_progress=False)
    with pytest.raises(ValueError, match='whitespace'):
        pack_lmdb([('a b', path)],
                  str(tmp_path / 'c.lmdb'),
                  show_progress=False)
    assert os.listdir(tmp_path) == ['data']


def test_missing_source_named(tmp_path, items):
    items = items + [('gone', str(tmp_path / 'gone.png'))]
    with pytest.raises(FileNotFoundError, match='gone.png'):
        pack_lmdb(items, str(tmp_path / 'a.lmdb'), show_progress=False)
    assert sorted(os.listdir(tmp_path)) == ['data']


def test_interrupted_pack_leaves_nothing(tmp_path, items, monkeypatch):
    calls = []
    real = packing._write_batch

    def failing(env, batch, size):
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(env, batch, size)

    monkeypatch.setattr(packing, '_write_batch', failing)
    db = tmp_path / 'x.lmdb'
    with pytest.raises(KeyboardInterrupt):
        pack_lmdb(items, str(db), batch=1, show_progress=False)
    assert calls == [1, 1]
    assert not db.exists()
    assert sorted(os.listdir(tmp_path)) == ['data']  # temp dir removed


def test_overwrite(tmp_path, items):
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
    pack_lmdb(
        items, db, fmt='raw', map_size=32 * 1024, batch=2, show_progress=False)
    assert verify_lmdb(items, db)['ok']
    # the 90 KB of records only fit because the map grew
    assert osp.getsize(osp.join(db, 'data.mdb')) > 64 * 1024


def test_verify_detects_mismatch_and_missing(tmp_path, items):
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


def test_overwrite_refuses_what_is_not_a_database(tmp_path, items, pairs):
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
