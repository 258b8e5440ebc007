# Copyright (c) mmderain contributors. All rights reserved.
"""Packing images into LMDB databases and reading them back.

Layout of a database written by :func:`pack_lmdb` (a folder)::

    <lmdb_path>/
        data.mdb, lock.mdb    # the LMDB environment; key = ASCII name
        meta_info.txt         # one line per key: "name (h,w,c) level"
        mmderain_lmdb.json    # {"format": "png"|"raw", "dtype": "uint8",
                              #  "count": N, "version": 1}

``meta_info.txt`` follows mmagic/BasicSR: the name, the image shape
``(h,w,c)`` and the PNG compression level (written as ``0`` for the raw
format), so databases in PNG format can also be read with mmagic's
``LoadImageFromFile(backend_args=dict(backend='lmdb', db_path=...))``.
No further fields are added; the format lives in the JSON sidecar (a
database without sidecar is read as PNG, which is what mmagic/BasicSR
write).

Values are either

- ``'png'``: the PNG encoding (``cv2.imencode``) of the image as
  ``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` returns it, so 16-bit and
  alpha images are kept exactly; or
- ``'raw'``: the uint8 pixels in HWC order (BGR as OpenCV stores them),
  read back without decoding as
  ``np.frombuffer(buf, np.uint8).reshape(h, w, c)`` with the shape of
  ``meta_info.txt``.

Readers always return HWC arrays (``c == 1`` for grayscale).

A pack is atomic: everything is written to ``<lmdb_path>.tmp-<pid>`` and
renamed to ``lmdb_path`` only when the data, the sidecar and, last,
``meta_info.txt`` are complete; on any error the temporary folder is
removed. A folder at ``lmdb_path`` therefore always holds a complete
database.
"""
import json
import os
import os.path as osp
import shutil
from typing import (Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import cv2
import lmdb
import numpy as np
from mmengine.utils import ProgressBar

from mmderain.utils.path import short_listing

FORMATS = ('png', 'raw')
META_FILE = 'meta_info.txt'
SIDECAR_FILE = 'mmderain_lmdb.json'
SIDECAR_VERSION = 1
MAX_KEY_BYTES = 511  # LMDB's default maximum key size
_MAX_PENDING_BYTES = 256 * 1024**2
_SAFETY = 1.5
_MIN_MAP_SIZE = 16 * 1024**2

__all__ = [
    'FORMATS', 'LmdbImageReader', 'LmdbVerifyError', 'pack_lmdb',
    'read_lmdb_image', 'read_meta_info', 'verify_lmdb'
]


def _check_keys(keys: Sequence[str]) -> None:
    """Refuse non-ASCII, malformed and duplicate keys, listing offenders.

    Raises:
        ValueError: If a key is not a non-empty ASCII string without
            whitespace of at most 511 bytes, or if keys repeat.
    """
    bad_type = [repr(k) for k in keys if not isinstance(k, str)]
    if bad_type:
        raise ValueError(f'{len(bad_type)} LMDB key(s) are not strings: '
                         f'{short_listing(bad_type, quote=True)}')
    non_ascii = [k for k in keys if not k.isascii()]
    if non_ascii:
        raise ValueError(
            f'{len(non_ascii)} key(s) are not ASCII (LMDB keys are stored '
            'as ASCII; rename the files): ' +
            short_listing(non_ascii, quote=True))
    malformed = [
        k for k in keys if not k or len(k.split()) != 1 or k != k.strip()
        or len(k) > MAX_KEY_BYTES
    ]
    if malformed:
        raise ValueError(
            f'{len(malformed)} key(s) are empty, contain whitespace (which '
            f'{META_FILE} cannot hold) or exceed {MAX_KEY_BYTES} bytes: '
            f'{short_listing(malformed, quote=True)}')
    seen, dups = set(), []
    for k in keys:
        if k in seen and k not in dups:
            dups.append(k)
        seen.add(k)
    if dups:
        raise ValueError(
            f'{len(dups)} duplicate key(s) (each key must be packed once): '
            f'{short_listing(dups, quote=True)}')


def _read_source(path: str) -> np.ndarray:
    """Read an image file as stored (``cv2.IMREAD_UNCHANGED``), HWC.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        OSError: If it cannot be decoded.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path}')
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise OSError(f'Cannot decode image file: {path}')
    if img.ndim == 2:
        img = img[:, :, None]
    return img


def _encode(img: np.ndarray, fmt: str, compress_level: int,
            path: str) -> bytes:
    """Encode one HWC image as the value of an LMDB record."""
    if fmt == 'raw':
        if img.dtype != np.uint8:
            raise ValueError(f"fmt='raw' stores uint8 images only; {path} is "
                             f"{img.dtype}. Use fmt='png' for it.")
        return np.ascontiguousarray(img).tobytes()
    ok, buf = cv2.imencode('.png', img,
                           [cv2.IMWRITE_PNG_COMPRESSION, compress_level])
    if not ok:
        raise OSError(f'PNG encoding failed for {path}')
    return buf.tobytes()


def _estimate_map_size(first_nbytes: int, count: int) -> int:
    """Initial map size: first record x count x safety factor."""
    return max(_MIN_MAP_SIZE,
               int(first_nbytes * count * _SAFETY) + 4096 * count)


def _write_batch(env: 'lmdb.Environment', batch: List[Tuple[bytes, bytes]],
                 map_size: List[int]) -> None:
    """Write records in one transaction, growing the map when it is full."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, value in batch:
                    txn.put(key, value)
            return
        except lmdb.MapFullError:
            map_size[0] *= 2
            env.set_mapsize(map_size[0])


def pack_lmdb(items: Iterable[Tuple[str, str]],
              lmdb_path: str,
              fmt: str = 'png',
              compress_level: int = 1,
              map_size: Optional[int] = None,
              batch: int = 1000,
              overwrite: bool = False,
              show_progress: bool = True) -> str:
    """Pack image files into one LMDB database (atomically).

    Args:
        items (Iterable[tuple[str, str]]): ``(key, image_path)`` pairs. Keys
            must be unique, non-empty ASCII strings without whitespace.
        lmdb_path (str): The database folder to create.
        fmt (str): ``'png'`` (PNG bytes) or ``'raw'`` (uint8 HWC bytes).
            Defaults to ``'png'``.
        compress_level (int): PNG compression level, 0-9. Defaults to 1.
        map_size (int, optional): Initial LMDB map size in bytes. Defaults
            to an estimate from the first image; the map grows when full.
        batch (int): Records per write transaction. Defaults to 1000.
        overwrite (bool): Replace an existing ``lmdb_path``. Defaults to
            False.
        show_progress (bool): Show a progress bar. Defaults to True.

    Returns:
        str: ``lmdb_path``.

    Raises:
        ValueError: On bad arguments, bad or duplicate keys, or when
            ``fmt='raw'`` meets a non-uint8 image.
        FileExistsError: If ``lmdb_path`` exists and ``overwrite`` is False.
        FileNotFoundError: If an image file is missing.
        OSError: If an image cannot be decoded.
    """
    if fmt not in FORMATS:
        raise ValueError(f'fmt must be one of {FORMATS}, got {fmt!r}')
    if not 0 <= int(compress_level) <= 9:
        raise ValueError(
            f'compress_level must be in [0, 9], got {compress_level}')
    if batch < 1:
        raise ValueError(f'batch must be >= 1, got {batch}')
    items = [(k, str(p)) for k, p in items]
    if not items:
        raise ValueError(f'Nothing to pack into {lmdb_path}: no item given')
    _check_keys([k for k, _ in items])
    lmdb_path = osp.abspath(str(lmdb_path)).rstrip(os.sep)
    if osp.lexists(lmdb_path) and not overwrite:
        raise FileExistsError(
            f'{lmdb_path} already exists; pass overwrite=True (CLI: '
            '--overwrite) to replace it')
    parent = osp.dirname(lmdb_path)
    os.makedirs(parent, exist_ok=True)
    tmp_path = f'{lmdb_path}.tmp-{os.getpid()}'
    if osp.lexists(tmp_path):
        shutil.rmtree(tmp_path)

    env = None
    try:
        os.makedirs(tmp_path)
        first = _read_source(items[0][1])
        first_buf = _encode(first, fmt, compress_level, items[0][1])
        size = [
            int(map_size) if map_size else _estimate_map_size(
                len(first_buf), len(items))
        ]
        env = lmdb.open(tmp_path, map_size=size[0])
        meta_lines = []
        pending: List[Tuple[bytes, bytes]] = []
        pending_bytes = 0
        bar = ProgressBar(len(items)) if show_progress else None
        for i, (key, path) in enumerate(items):
            if i == 0:
                img, buf = first, first_buf
            else:
                img = _read_source(path)
                buf = _encode(img, fmt, compress_level, path)
            h, w, c = img.shape
            level = compress_level if fmt == 'png' else 0
            meta_lines.append(f'{key} ({h},{w},{c}) {level}\n')
            pending.append((key.encode('ascii'), buf))
            pending_bytes += len(buf)
            if len(pending) >= batch or pending_bytes >= _MAX_PENDING_BYTES:
                _write_batch(env, pending, size)
                pending, pending_bytes = [], 0
            if bar is not None:
                bar.update()
        if pending:
            _write_batch(env, pending, size)
        env.sync()
        env.close()
        env = None
        if bar is not None:
            print()
        sidecar = dict(
            format=fmt,
            dtype='uint8' if fmt == 'raw' else 'png',
            count=len(items),
            version=SIDECAR_VERSION)
        with open(osp.join(tmp_path, SIDECAR_FILE), 'w') as f:
            json.dump(sidecar, f)
        # meta_info.txt last: its presence marks a complete database.
        with open(osp.join(tmp_path, META_FILE), 'w') as f:
            f.writelines(meta_lines)
        if osp.lexists(lmdb_path):  # overwrite=True
            old = f'{lmdb_path}.old-{os.getpid()}'
            os.rename(lmdb_path, old)
            os.rename(tmp_path, lmdb_path)
            if osp.isdir(old) and not osp.islink(old):
                shutil.rmtree(old)
            else:
                os.remove(old)
        else:
            os.rename(tmp_path, lmdb_path)
    except BaseException:  # also KeyboardInterrupt: never leave a temp dir
        if env is not None:
            env.close()
        shutil.rmtree(tmp_path, ignore_errors=True)
        raise
    return lmdb_path


def read_meta_info(db_path: str) -> Dict[str, Tuple[int, int, int]]:
    """Parse ``meta_info.txt`` of a database.

    Args:
        db_path (str): The database folder.

    Returns:
        dict[str, tuple[int, int, int]]: Key -> ``(h, w, c)``, in file
        order.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If a line is malformed.
    """
    meta_path = osp.join(db_path, META_FILE)
    if not osp.isfile(meta_path):
        raise FileNotFoundError(
            f'{meta_path} not found: {db_path} is not a complete LMDB image '
            'database (was packing interrupted?)')
    shapes: Dict[str, Tuple[int, int, int]] = {}
    with open(meta_path, encoding='ascii') as f:
        for line_no, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                shape = tuple(int(v) for v in fields[1].strip('()').split(','))
                if len(shape) == 2:
                    shape = (*shape, 1)
                if len(shape) != 3:
                    raise ValueError(shape)
            except (IndexError, ValueError) as err:
                raise ValueError(
                    f'{meta_path}:{line_no}: expected "name (h,w,c) '
                    f'compress_level", got {line.strip()!r}') from err
            shapes[fields[0]] = shape
    return shapes


def _read_format(db_path: str) -> str:
    """Format recorded in the sidecar (``'png'`` when there is none)."""
    side = osp.join(db_path, SIDECAR_FILE)
    if not osp.isfile(side):
        return 'png'
    with open(side) as f:
        fmt = json.load(f).get('format', 'png')
    if fmt not in FORMATS:
        raise ValueError(f'{side}: unknown format {fmt!r}')
    return fmt


def _decode(buf: Optional[bytes], fmt: str, shape: Optional[Tuple[int, int,
                                                                  int]],
            key: str, where: str) -> np.ndarray:
    """Turn a stored value into an HWC array."""
    if buf is None:
        raise KeyError(f'Key {key!r} not found in LMDB {where}')
    if fmt == 'raw':
        if shape is None:
            raise KeyError(
                f'Key {key!r} has no shape in {META_FILE} of {where}')
        h, w, c = shape
        if len(buf) != h * w * c:
            raise ValueError(
                f'Raw record {key!r} of {where} has {len(buf)} bytes, '
                f'expected {h}x{w}x{c}={h * w * c}')
        return np.frombuffer(buf, np.uint8).reshape(h, w, c)
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise OSError(f'Cannot decode PNG record {key!r} of LMDB {where}')
    return img[:, :, None] if img.ndim == 2 else img


class LmdbImageReader:
    """Lazy, read-only, fork-safe reader of a database of :func:`pack_lmdb`.

    The environment is opened on first use with ``readonly=True,
    lock=False, readahead=False`` and re-opened when the process id
    changed (DataLoader workers, forked or spawned: the environment is
    never pickled), so one reader may be created in the main process and
    used in every worker.

    Args:
        db_path (str): The database folder.

    Examples:
        >>> reader = LmdbImageReader('data/rain100l/train_lmdb/img.lmdb')
        >>> img = reader.get('norain-1')  # HWC uint8, BGR
    """

    def __init__(self, db_path: str) -> None:
        self.db_path = str(db_path)
        if not osp.isdir(self.db_path):
            raise FileNotFoundError(
                f'LMDB database folder not found: {self.db_path}')
        self._env = None
        self._pid = None
        self._shapes = None
        self._fmt = None

    # ------------------------------------------------------------ meta
    @property
    def format(self) -> str:
        """str: ``'png'`` or ``'raw'``."""
        if self._fmt is None:
            self._fmt = _read_format(self.db_path)
        return self._fmt

    @property
    def shapes(self) -> Dict[str, Tuple[int, int, int]]:
        """dict[str, tuple]: Key -> ``(h, w, c)`` from ``meta_info.txt``."""
        if self._shapes is None:
            self._shapes = read_meta_info(self.db_path)
        return self._shapes

    def keys(self) -> List[str]:
        """Keys of ``meta_info.txt``, in packing order.

        Returns:
            list[str]: The keys.
        """
        return list(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)

    def __contains__(self, key: str) -> bool:
        return key in self.shapes

    # ------------------------------------------------------------ access
    @property
    def env(self) -> 'lmdb.Environment':
        """lmdb.Environment: The environment of this process."""
        pid = os.getpid()
        if self._env is None or self._pid != pid:
            # A forked child must not use (nor close) the parent's handle.
            self._env = lmdb.open(
                self.db_path,
                readonly=True,
                lock=False,
                readahead=False,
                meminit=False,
                max_readers=1024)
            self._pid = pid
        return self._env

    def get_bytes(self, key: str) -> bytes:
        """The stored value of ``key``.

        Raises:
            KeyError: If the key is not in the database.
        """
        with self.env.begin(write=False) as txn:
            buf = txn.get(key.encode('ascii'))
        if buf is None:
            raise KeyError(f'Key {key!r} not found in LMDB {self.db_path}')
        return buf

    def get(self, key: str) -> np.ndarray:
        """The image of ``key`` as an HWC array (BGR, as cv2.imread).

        Raw records are read-only views of the LMDB value; copy them before
        writing in place.

        Raises:
            KeyError: If the key is not in the database.
        """
        fmt = self.format
        shape = self.shapes.get(key) if fmt == 'raw' else None
        return _decode(self.get_bytes(key), fmt, shape, key, self.db_path)

    def close(self) -> None:
        """Close the environment of this process (if open)."""
        if self._env is not None and self._pid == os.getpid():
            self._env.close()
        self._env = None
        self._pid = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_env'] = None
        state['_pid'] = None
        return state

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(db_path={self.db_path!r})'


def read_lmdb_image(
        env_or_path: Union[str, 'lmdb.Environment', LmdbImageReader],
        key: str,
        fmt: Optional[str] = None,
        shape: Optional[Tuple[int, int, int]] = None) -> np.ndarray:
    """Read one image of a database.

    Args:
        env_or_path (str | lmdb.Environment | LmdbImageReader): A database
            folder, an open environment or a reader.
        key (str): The key.
        fmt (str, optional): ``'png'`` or ``'raw'``. Read from the database
            when a path or reader is given; required with an environment.
        shape (tuple, optional): ``(h, w, c)`` of a raw record; read from
            ``meta_info.txt`` when a path or reader is given.

    Returns:
        np.ndarray: HWC image, BGR as stored.
    """
    if isinstance(env_or_path, LmdbImageReader):
        reader = env_or_path
    elif isinstance(env_or_path, (str, os.PathLike)):
        reader = LmdbImageReader(str(env_or_path))
        try:
            return reader.get(key)
        finally:
            reader.close()
    else:
        if fmt not in FORMATS:
            raise ValueError(
                f'fmt must be one of {FORMATS} with an lmdb.Environment, '
                f'got {fmt!r}')
        if fmt == 'raw' and shape is None:
            raise ValueError("fmt='raw' with an lmdb.Environment needs shape")
        with env_or_path.begin(write=False) as txn:
            buf = txn.get(key.encode('ascii'))
        return _decode(buf, fmt, shape, key, str(env_or_path.path()))
    return reader.get(key)


class LmdbVerifyError(ValueError):
    """Raised by :func:`verify_lmdb` when the database differs.

    Attributes:
        report (dict): The report of :func:`verify_lmdb`.
    """

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


def _iter_items(items: Iterable[Tuple[str, str]]) -> Iterator[Tuple[str, str]]:
    for key, path in items:
        yield key, str(path)


def verify_lmdb(items: Iterable[Tuple[str, str]],
                lmdb_path: str,
                raise_error: bool = True,
                show_progress: bool = False) -> dict:
    """Check that every source image is stored unchanged.

    Each source is read with ``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` and
    compared (``np.array_equal``) with the decoded record of its key.

    Args:
        items (Iterable[tuple[str, str]]): ``(key, image_path)`` pairs.
        lmdb_path (str): The database folder.
        raise_error (bool): Raise :class:`LmdbVerifyError` when anything
            differs. Defaults to True.
        show_progress (bool): Show a progress bar. Defaults to False.

    Returns:
        dict: ``checked`` (int), ``missing`` (keys absent from the
        database), ``mismatched`` (keys whose pixels or shape differ, with
        a reason: ``[(key, reason), ...]``), ``unreadable_sources``
        (``[(key, path, reason), ...]``), ``extra`` (keys in the database
        but not in ``items``) and ``ok`` (bool).

    Raises:
        LmdbVerifyError: If ``raise_error`` and the check failed.
    """
    items = list(_iter_items(items))
    reader = LmdbImageReader(lmdb_path)
    report = dict(
        checked=0, missing=[], mismatched=[], unreadable_sources=[], extra=[])
    bar = ProgressBar(len(items)) if show_progress else None
    try:
        for key, path in items:
            report['checked'] += 1
            if bar is not None:
                bar.update()
            try:
                stored = reader.get(key)
            except KeyError:
                report['missing'].append(key)
                continue
            except (OSError, ValueError) as err:
                report['mismatched'].append((key, f'undecodable: {err}'))
                continue
            try:
                src = _read_source(path)
            except OSError as err:  # includes FileNotFoundError
                report['unreadable_sources'].append((key, path, str(err)))
                continue
            if src.shape != stored.shape or src.dtype != stored.dtype:
                report['mismatched'].append(
                    (key, f'source {path} is {src.shape} {src.dtype}, '
                     f'stored {stored.shape} {stored.dtype}'))
            elif not np.array_equal(src, stored):
                report['mismatched'].append(
                    (key, f'pixels differ from source {path}'))
        wanted = {k for k, _ in items}
        report['extra'] = [k for k in reader.keys() if k not in wanted]
    finally:
        reader.close()
    if bar is not None:
        print()
    report['ok'] = not (report['missing'] or report['mismatched']
                        or report['unreadable_sources'])
    if raise_error and not report['ok']:
        parts = [f'LMDB {lmdb_path} does not match its sources:']
        if report['missing']:
            parts.append(f"{len(report['missing'])} missing key(s): "
                         f"{short_listing(report['missing'], quote=True)}.")
        if report['mismatched']:
            shown = '; '.join(f'{k!r}: {r}'
                              for k, r in report['mismatched'][:10])
            parts.append(
                f"{len(report['mismatched'])} mismatched key(s): {shown}.")
        if report['unreadable_sources']:
            shown = '; '.join(f'{k!r}: {r}'
                              for k, _, r in report['unreadable_sources'][:10])
            parts.append(f"{len(report['unreadable_sources'])} unreadable "
                         f'source(s): {shown}.')
        raise LmdbVerifyError(' '.join(parts), report)
    return report
