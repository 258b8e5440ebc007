# Copyright (c) mmderain contributors. All rights reserved.
"""Packing images into LMDB databases and reading them back.

Layout of a database written by :func:`pack_lmdb` (a folder)::

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

A pack is atomic: the sidecar (``"complete": false``) is written first into
``<lmdb_path>.tmp-<pid>``, then the data, the final sidecar and, last,
``meta_info.txt``; the folder is then put at ``lmdb_path`` with an atomic
exchange (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames,
undone if the second fails). On any error the temporary folder is removed.
``overwrite=True`` only replaces a database written by this function (its
sidecar and no other file) and never a folder holding source images.
Leftovers of killed runs (``<lmdb_path>.tmp-<pid>``/``.old-<pid>`` of
processes that no longer run) are removed, or restored when
``lmdb_path`` is missing, by the next pack; folders that are not ours are
reported and left.
"""
import ctypes
import errno
import json
import os
import os.path as osp
import re
import shutil
import sys
import warnings
import zlib
from typing import (Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Tuple, Union)

import cv2
import lmdb
import numpy as np
from mmengine.utils import ProgressBar

from mmderain.utils.path import short_listing

FORMATS = ('png', 'raw')
META_FILE = 'meta_info.txt'
SIDECAR_FILE = 'mmderain_lmdb.json'
SIDECAR_VERSION = 2
DATA_FILE = 'data.mdb'
DB_FILES = frozenset(('data.mdb', 'lock.mdb', META_FILE, SIDECAR_FILE))
CHECKSUM = 'crc32'
CHECKSUM_BYTES = 4
VERIFY_ENV = 'MMDERAIN_LMDB_VERIFY_CHECKSUMS'
MAX_KEY_BYTES = 511  # LMDB's default maximum key size
_MAX_PENDING_BYTES = 256 * 1024**2
_SAFETY = 1.5
_MIN_MAP_SIZE = 16 * 1024**2

__all__ = [
    'FORMATS', 'LmdbCorruptError', 'LmdbImageReader', 'LmdbVerifyError',
    'check_data_size', 'pack_lmdb', 'read_lmdb_image', 'read_meta_info',
    'verify_lmdb'
]


class LmdbCorruptError(OSError):
    """A database file is truncated, damaged or cannot be opened.

    The message names the database (and the key, for a record).
    """


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
        pixels = np.ascontiguousarray(img).tobytes()
        return pixels + zlib.crc32(pixels).to_bytes(CHECKSUM_BYTES, 'little')
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


# ---------------------------------------------------------------- outputs
# Shared by pack_lmdb (one database) and lmdb_backend.pack_dataset (a
# folder of databases): what an output may replace, where leftovers of
# killed runs go, and the switch of a finished folder into place.


def write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` as JSON and flush it to disk."""
    with open(path, 'w') as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())


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


def foreign_reason(path: str,
                   marker: str,
                   allowed: Iterable[str],
                   legacy: bool = False) -> Optional[str]:
    """Why the existing ``path`` must not be replaced by a pack (or None).

    A folder may be replaced when it is empty, or when it holds ``marker``
    (or ``legacy`` is True: an older pack recognised by the caller) and
    no entry outside ``allowed``, so nothing a user wrote is lost.

    Args:
        path (str): The existing output.
        marker (str): File name that marks a folder written by the packer.
        allowed (Iterable[str]): Entry names the packer writes.
        legacy (bool): Accept the folder without ``marker``. Defaults to
            False.

    Returns:
        str | None: The reason, or None when ``path`` may be replaced.
    """
    if osp.islink(path):
        return 'it is a symbolic link, not a folder written by pack_lmdb'
    if not osp.isdir(path):
        return 'it is a file, not a folder written by pack_lmdb'
    names = set(os.listdir(path))
    if not names:
        return None
    if marker not in names and not legacy:
        return (f'it has no {marker}, so it is not a folder written by '
                'pack_lmdb')
    extra = sorted(names - set(allowed))
    if extra:
        return ('it holds entries pack_lmdb did not write: ' +
                short_listing(extra))
    return None


def db_foreign_reason(path: str) -> Optional[str]:
    """:func:`foreign_reason` for one database folder of :func:`pack_lmdb`.

    Args:
        path (str): The database folder.

    Returns:
        str | None: Why it must not be replaced, or None.
    """
    return foreign_reason(path, SIDECAR_FILE, DB_FILES)


def check_outside_sources(out: str, paths: Iterable[str]) -> None:
    """Refuse an output folder that equals or contains a source folder.

    Compared on resolved real paths, before anything is written.

    Args:
        out (str): The output folder.
        paths (Iterable[str]): Source files.

    Raises:
        ValueError: If a source file lies in ``out`` or below it.
    """
    real_out = osp.realpath(out)
    dirs = {osp.dirname(osp.abspath(str(p))) for p in paths}
    below = real_out.rstrip(os.sep) + os.sep
    inside = sorted(
        d for d in dirs
        if osp.realpath(d) == real_out or osp.realpath(d).startswith(below))
    if inside:
        raise ValueError(
            f'Refusing to pack into {out}: it holds source images (in '
            f'{short_listing(inside)}), which replacing it would delete. '
            'Choose an output folder outside the source folders.')


def _owner_running(pid: int) -> bool:
    """Whether process ``pid`` (another than this one) still runs."""
    if pid == os.getpid():
        return False  # an earlier call of this process left it
    if os.name != 'posix':
        return True  # cannot tell: never touch it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs under another user
        return True
    return True


def clean_stale(path: str, marker: str,
                foreign: Callable[[str], Optional[str]]) -> None:
    """Restore or remove what killed runs left next to ``path``.

    ``<path>.old-<pid>`` and ``<path>.tmp-<pid>`` of processes that no
    longer run: when ``path`` is missing, the newest complete ``.old`` is
    renamed back to ``path`` (a run died between its two renames); other
    leftovers holding ``marker`` (``.tmp``) or passing ``foreign`` are
    removed; anything else is reported with a warning and left.

    Args:
        path (str): The output folder.
        marker (str): File name the packer writes first into ``.tmp``.
        foreign (Callable): :func:`foreign_reason` for a complete output.
    """
    parent, base = osp.split(path)
    if not osp.isdir(parent):
        return
    pattern = re.compile(re.escape(base) + r'\.(tmp|old)-(\d+)')
    stale = []
    for name in os.listdir(parent):
        match = pattern.fullmatch(name)
        if match and not _owner_running(int(match.group(2))):
            sib = osp.join(parent, name)
            stale.append((match.group(1), -osp.getmtime(sib), sib))
    for kind, _, sib in sorted(stale):  # '.old' first, newest first
        ours = foreign(sib) is None
        if kind == 'old' and ours and not osp.lexists(path):
            os.rename(sib, path)
            print(f'Restored {path} from {sib} (a run was killed while '
                  'replacing it)')
        elif ours or (kind == 'tmp' and osp.isfile(osp.join(sib, marker))):
            shutil.rmtree(sib)
            print(f'Removed {sib} (left by a killed run)')
        else:
            warnings.warn(f'{sib} looks like a leftover of a killed pack '
                          f'run but is not ours ({foreign(sib)}); it is '
                          'left as is: check and remove it yourself')


def check_replaceable(path: str, overwrite: bool,
                      foreign: Callable[[str], Optional[str]]) -> None:
    """Refuse an existing output that is not ours or without overwrite.

    Args:
        path (str): The output folder.
        overwrite (bool): Whether the caller asked to replace it.
        foreign (Callable): :func:`foreign_reason` for the output.

    Raises:
        FileExistsError: If ``path`` exists and may not be replaced.
    """
    if not osp.lexists(path):
        return
    reason = foreign(path)
    if reason is not None:
        raise FileExistsError(
            f'Refusing to replace {path}: {reason}. --overwrite only '
            'replaces an earlier pack; choose another output or move the '
            'folder away yourself.')
    if not overwrite:
        raise FileExistsError(
            f'{path} already exists; pass overwrite=True (CLI: '
            '--overwrite) to replace it')


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2 = []  # [function or None], looked up once


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        bool: False when the system or file system cannot exchange.
    """
    if not sys.platform.startswith('linux'):
        return False
    if not _renameat2:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
            fn.argtypes = [
                ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                ctypes.c_uint
            ]
            fn.restype = ctypes.c_int
        except (AttributeError, OSError):  # glibc < 2.28, musl, ...
            fn = None
        _renameat2.append(fn)
    fn = _renameat2[0]
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
          _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), a, None, b)


def replace_folder(new: str, dest: str) -> None:
    """Put the complete folder ``new`` at ``dest``, replacing it.

    With an atomic exchange ``dest`` always holds the old or the new
    folder. Without one, ``dest`` is renamed to ``<dest>.old-<pid>`` and
    back if the second rename fails; a run killed between the two renames
    leaves the old folder as ``.old-<pid>``, which :func:`clean_stale`
    restores.

    Args:
        new (str): The finished folder.
        dest (str): Where it goes.
    """
    if not osp.lexists(dest):
        os.rename(new, dest)
    elif _exchange(new, dest):
        shutil.rmtree(new)  # now the old folder
    else:
        old = f'{dest}.old-{os.getpid()}'
        os.rename(dest, old)
        try:
            os.rename(new, dest)
        except BaseException:
            os.rename(old, dest)
            raise
        shutil.rmtree(old)


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
        ValueError: If ``lmdb_path`` holds a source image.
        FileExistsError: If ``lmdb_path`` exists and ``overwrite`` is False,
            or it is not a database written by this function.
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
    check_outside_sources(lmdb_path, (p for _, p in items))
    clean_stale(lmdb_path, SIDECAR_FILE, db_foreign_reason)
    check_replaceable(lmdb_path, overwrite, db_foreign_reason)
    parent = osp.dirname(lmdb_path)
    os.makedirs(parent, exist_ok=True)
    tmp_path = f'{lmdb_path}.tmp-{os.getpid()}'
    os.makedirs(tmp_path)  # outside the try: never remove what was there

    env = None
    try:
        sidecar = dict(
            format=fmt,
            dtype='uint8' if fmt == 'raw' else 'png',
            count=len(items),
            version=SIDECAR_VERSION,
            checksum=CHECKSUM if fmt == 'raw' else None,
            complete=False)
        # first: marks the temporary folder as ours (see clean_stale)
        write_json(osp.join(tmp_path, SIDECAR_FILE), sidecar)
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
        sidecar.update(
            complete=True,
            data_size=osp.getsize(osp.join(tmp_path, DATA_FILE)))
        write_json(osp.join(tmp_path, SIDECAR_FILE), sidecar)
        # meta_info.txt last: its presence marks a complete database.
        with open(osp.join(tmp_path, META_FILE), 'w') as f:
            f.writelines(meta_lines)
        replace_folder(tmp_path, lmdb_path)
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
    """Lazy, read-only, fork-safe reader of a database of :func:`pack_lmdb`.

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
        reader.env  # a damaged file raises here, not once per key
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
