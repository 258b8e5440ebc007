# Copyright (c) mmderain contributors. All rights reserved.
"""Reading the LMDB image databases written by the packer.

Layout of one database (a folder, written by
:func:`mmderain.datasets.lmdb.packing.pack_lmdb`)::

    <lmdb_path>/
        data.mdb, lock.mdb    # the LMDB environment; key = ASCII name
        meta_info.txt         # one line per key: "name (h,w,c) level"
        mmderain_lmdb.json    # {"format": "png"|"raw", "dtype": "uint8",
                              #  "count": N, "version": 2,
                              #  "checksum": "crc32" (raw), "complete": true,
                              #  "data_size": bytes of data.mdb}

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
  alpha images are kept exactly (PNG carries its own chunk checksums); or
- ``'raw'``: the uint8 pixels in HWC order (BGR as OpenCV stores them)
  followed by the 4-byte little-endian CRC-32 (``zlib.crc32``) of those
  pixels, read back without decoding as
  ``np.frombuffer(buf, np.uint8, count=h * w * c).reshape(h, w, c)`` with
  the shape of ``meta_info.txt``. Databases of sidecar version 1 have no
  checksum (the value is the pixels only); they are still read.

Readers always return HWC arrays (``c == 1`` for grayscale). Before
mapping ``data.mdb`` they compare its size with ``data_size`` of the
sidecar and with the pages LMDB's header says are used, so a truncated or
half-copied file raises :class:`LmdbCorruptError` instead of killing the
process with SIGBUS; raw records are checked against their CRC-32 unless
``verify_checksums=False`` (or the environment variable
``MMDERAIN_LMDB_VERIFY_CHECKSUMS=0``). Every read error names the database
and the key.
"""
import json
import os
import os.path as osp
import warnings
import zlib
from typing import Dict, List, Optional, Tuple, Union

import cv2
import lmdb
import numpy as np

FORMATS = ('png', 'raw')
META_FILE = 'meta_info.txt'
SIDECAR_FILE = 'mmderain_lmdb.json'
SIDECAR_VERSION = 2
DATA_FILE = 'data.mdb'
DB_FILES = frozenset(('data.mdb', 'lock.mdb', META_FILE, SIDECAR_FILE))
CHECKSUM = 'crc32'
CHECKSUM_BYTES = 4
VERIFY_ENV = 'MMDERAIN_LMDB_VERIFY_CHECKSUMS'

__all__ = [
    'FORMATS', 'LmdbCorruptError', 'LmdbImageReader', 'check_data_size',
    'read_lmdb_image', 'read_meta_info'
]


class LmdbCorruptError(OSError):
    """A database file is truncated, damaged or cannot be opened.

    The message names the database (and the key, for a record).
    """


def load_json(path: str) -> dict:
    """The JSON object in ``path`` (empty if the file is missing).

    Raises:
        ValueError: If the file is not a JSON object.
    """
    if not osp.isfile(path):
        return {}
    try:
        with open(path) as f:
            data = json.load(f)
    except ValueError as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from err
    if not isinstance(data, dict):
        raise ValueError(f'{path} must hold a JSON object')
    return data


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


def _read_sidecar(db_path: str) -> dict:
    """The sidecar of a database, checked (empty when there is none)."""
    side = osp.join(db_path, SIDECAR_FILE)
    data = load_json(side)
    if data.get('format', 'png') not in FORMATS:
        raise ValueError(f'{side}: unknown format {data["format"]!r}')
    if data.get('checksum') not in (None, CHECKSUM):
        raise ValueError(f'{side}: unknown checksum {data["checksum"]!r}; '
                         'this mmderain reads crc32 only')
    return data


def check_data_size(db_path: str) -> int:
    """Compare ``data.mdb`` with the size recorded when it was packed.

    Cheap (no mapping): call it before opening a database, so that a
    truncated or half-copied file gives an error instead of SIGBUS.
    Databases without a recorded size (sidecar version 1, other tools)
    pass; readers check them against LMDB's header after opening.

    Args:
        db_path (str): The database folder.

    Returns:
        int: The size of ``data.mdb`` in bytes.

    Raises:
        FileNotFoundError: If ``data.mdb`` is missing.
        LmdbCorruptError: If its size differs from the recorded one.
    """
    data = osp.join(db_path, DATA_FILE)
    if not osp.isfile(data):
        raise FileNotFoundError(
            f'{data} not found: {db_path} is not a complete LMDB database')
    actual = osp.getsize(data)
    recorded = _read_sidecar(db_path).get('data_size')
    if recorded is not None and actual != recorded:
        raise LmdbCorruptError(
            f'{data} has {actual} bytes but {recorded} were recorded when '
            f'it was packed ({osp.join(db_path, SIDECAR_FILE)}): the file is '
            'truncated or still being copied (or was changed); re-pack or '
            're-copy it')
    return actual


def _open_env(db_path: str) -> 'lmdb.Environment':
    """Open a database read-only after checking its file size."""
    actual = check_data_size(db_path)
    try:
        env = lmdb.open(
            db_path,
            readonly=True,
            lock=False,
            readahead=False,
            meminit=False,
            max_readers=1024)
    except lmdb.Error as err:
        raise LmdbCorruptError(f'Cannot open LMDB {db_path}: '
                               f'{type(err).__name__}: {err}') from err
    # The header (read, not mapped) says how many pages are in use; a
    # shorter file would raise SIGBUS on the first access to a lost page.
    used = (env.info()['last_pgno'] + 1) * env.stat()['psize']
    if actual < used:
        env.close()
        raise LmdbCorruptError(
            f'{osp.join(db_path, DATA_FILE)} has {actual} bytes but its '
            f'LMDB header says {used} are in use: the file is truncated or '
            'still being copied; re-pack or re-copy it')
    return env


def _decode(buf: Optional[bytes],
            fmt: str,
            shape: Optional[Tuple[int, int, int]],
            key: str,
            where: str,
            checksum: Optional[bool] = False,
            verify: bool = True) -> np.ndarray:
    """Turn a stored value into an HWC array.

    Args:
        checksum (bool, optional): Whether raw values end with a CRC-32;
            None guesses from the length.
        verify (bool): Check the CRC-32. Defaults to True.
    """
    if buf is None:
        raise KeyError(f'Key {key!r} not found in LMDB {where}')
    if fmt == 'raw':
        if shape is None:
            raise KeyError(
                f'Key {key!r} has no shape in {META_FILE} of {where}')
        h, w, c = shape
        n = h * w * c
        if checksum is None:
            checksum = len(buf) == n + CHECKSUM_BYTES
        expected = n + CHECKSUM_BYTES if checksum else n
        if len(buf) != expected:
            raise ValueError(
                f'Raw record {key!r} of LMDB {where} has {len(buf)} bytes, '
                f'expected {h}x{w}x{c}={n}' +
                (f' + {CHECKSUM_BYTES} (CRC-32)' if checksum else ''))
        if checksum and verify and zlib.crc32(memoryview(buf)[:n]) != \
                int.from_bytes(buf[n:], 'little'):
            raise LmdbCorruptError(
                f'Raw record {key!r} of LMDB {where} is corrupt: its CRC-32 '
                'does not match (bytes changed on disk or in a copy); re-pack '
                'or re-copy the database')
        return np.frombuffer(buf, np.uint8, count=n).reshape(h, w, c)
    try:
        img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as err:
        raise OSError(f'Cannot decode PNG record {key!r} of LMDB {where}: '
                      f'{err}') from err
    if img is None:
        raise OSError(f'Cannot decode PNG record {key!r} of LMDB {where}')
    return img[:, :, None] if img.ndim == 2 else img


def _get_value(env: 'lmdb.Environment', key: str, where: str) -> bytes:
    """The stored value of ``key``; errors name the database and key."""
    try:
        bkey = key.encode('ascii')
    except (AttributeError, UnicodeEncodeError):
        raise KeyError(f'Key {key!r} not found in LMDB {where} (keys are '
                       'ASCII strings)') from None
    try:
        with env.begin(write=False) as txn:
            buf = txn.get(bkey)
    except lmdb.Error as err:
        raise LmdbCorruptError(f'Cannot read key {key!r} of LMDB {where}: '
                               f'{type(err).__name__}: {err}') from err
    if buf is None:
        raise KeyError(f'Key {key!r} not found in LMDB {where}')
    return buf


def _default_verify(verify_checksums: Optional[bool]) -> bool:
    """``verify_checksums``, or the environment's choice when None."""
    if verify_checksums is not None:
        return bool(verify_checksums)
    value = os.environ.get(VERIFY_ENV, '1').strip().lower()
    return value not in ('0', 'false', 'no', 'off')


class LmdbImageReader:
    """Lazy, read-only, fork-safe reader of one packed LMDB database.

    The environment is opened on first use with ``readonly=True,
    lock=False, readahead=False`` and re-opened when the process id
    changed (DataLoader workers, forked or spawned: the environment is
    never pickled), so one reader may be created in the main process and
    used in every worker. Before opening, ``data.mdb`` is checked against
    its recorded size and LMDB's header (see :func:`check_data_size`).

    Args:
        db_path (str): The database folder.
        verify_checksums (bool, optional): Check the CRC-32 of each raw
            record when it is read. Defaults to None: True unless the
            environment variable ``MMDERAIN_LMDB_VERIFY_CHECKSUMS`` is
            ``0``/``false``/``no``/``off``.

    Examples:
        >>> reader = LmdbImageReader('data/rain100l/train_lmdb/img.lmdb')
        >>> img = reader.get('norain-1')  # HWC uint8, BGR
    """

    def __init__(self,
                 db_path: str,
                 verify_checksums: Optional[bool] = None) -> None:
        self.db_path = str(db_path)
        if not osp.isdir(self.db_path):
            raise FileNotFoundError(
                f'LMDB database folder not found: {self.db_path}')
        self.verify_checksums = _default_verify(verify_checksums)
        self._env = None
        self._pid = None
        self._shapes = None
        self._sidecar = None

    # ------------------------------------------------------------ meta
    @property
    def sidecar(self) -> dict:
        """dict: The contents of ``mmderain_lmdb.json`` (empty if none)."""
        if self._sidecar is None:
            self._sidecar = _read_sidecar(self.db_path)
            if (self._sidecar.get('format') == 'raw'
                    and not self._sidecar.get('checksum')
                    and self.verify_checksums):
                warnings.warn(
                    f'{self.db_path} was packed without checksums (an '
                    'older mmderain): its raw records cannot be checked; '
                    're-pack it with tools/dataset_converters/pack_lmdb.py '
                    '--format raw --overwrite to get them')
        return self._sidecar

    @property
    def format(self) -> str:
        """str: ``'png'`` or ``'raw'``."""
        return self.sidecar.get('format', 'png')

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
            self._env = _open_env(self.db_path)
            self._pid = pid
        return self._env

    def get_bytes(self, key: str) -> bytes:
        """The stored image bytes of ``key`` (without a raw CRC-32).

        Raises:
            KeyError: If the key is not in the database.
            LmdbCorruptError: If the database or the record is damaged.
        """
        buf = _get_value(self.env, key, self.db_path)
        if self.format == 'raw':  # checks the CRC-32, drops it
            return buf[:self._image(key, buf).nbytes]
        return buf

    def get(self, key: str) -> np.ndarray:
        """The image of ``key`` as an HWC array (BGR, as cv2.imread).

        Raw records are read-only views of the LMDB value; copy them before
        writing in place.

        Raises:
            KeyError: If the key is not in the database.
            LmdbCorruptError: If the database or the record is damaged.
            OSError: If a PNG record cannot be decoded.
        """
        return self._image(key, _get_value(self.env, key, self.db_path))

    def _image(self, key: str, buf: bytes) -> np.ndarray:
        """Decode (and for raw records check) the value ``buf`` of ``key``."""
        fmt = self.format
        shape = self.shapes.get(key) if fmt == 'raw' else None
        return _decode(buf, fmt, shape, key, self.db_path,
                       bool(self.sidecar.get('checksum')),
                       self.verify_checksums)

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
        return (f'{self.__class__.__name__}(db_path={self.db_path!r}, '
                f'verify_checksums={self.verify_checksums})')


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
            ``meta_info.txt`` when a path or reader is given. With an
            environment, a raw value 4 bytes longer than the shape carries
            a CRC-32, which is checked.

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
        where = str(env_or_path.path())
        return _decode(
            _get_value(env_or_path, key, where),
            fmt,
            shape,
            key,
            where,
            checksum=None)
    return reader.get(key)
