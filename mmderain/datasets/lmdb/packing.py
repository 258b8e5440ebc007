# Copyright (c) mmderain contributors. All rights reserved.
"""Packing images into LMDB databases and verifying them against sources.

Not needed to train: datasets with ``backend='lmdb'`` read through
:mod:`mmderain.datasets.lmdb.reader` only. The command line is
``tools/dataset_converters/pack_lmdb.py``.

- :func:`pack_lmdb` writes one database (see
  :mod:`~mmderain.datasets.lmdb.reader` for its layout): the sidecar
  (``"complete": false``) first into ``<lmdb_path>.tmp-<pid>``, then the
  data, the final sidecar and, last, ``meta_info.txt``; the folder is then
  swapped into place (see :mod:`~mmderain.datasets.lmdb.atomic_output`).
  ``overwrite=True`` only replaces a database written by this function
  (its sidecar and no other file) and never a folder holding source images.
- :func:`pack_dataset` writes the folder a dataset reads in LMDB mode
  (``img.lmdb``, ``gt.lmdb``, ``pairs.txt``, ``mmderain_pack.json``; see
  :mod:`~mmderain.datasets.lmdb.layout`) from the dataset's data infos.
- :func:`verify_lmdb` / :func:`verify_dataset` decode every record and
  compare it with its source image.
"""
import os
import os.path as osp
import shutil
import zlib
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import lmdb
import numpy as np
from mmengine.utils import ProgressBar

from mmderain.utils.path import short_listing
from .atomic_output import (check_outside_sources, check_replaceable,
                            clean_stale, foreign_reason, replace_folder,
                            write_json)
from .layout import GT_DB, IMG_DB, PACK_ENTRIES, PACK_MARKER, PAIRS_FILE
from .reader import (CHECKSUM, CHECKSUM_BYTES, DATA_FILE, DB_FILES, FORMATS,
                     META_FILE, SIDECAR_FILE, SIDECAR_VERSION, LmdbImageReader)

MAX_KEY_BYTES = 511  # LMDB's default maximum key size
_MAX_PENDING_BYTES = 256 * 1024**2
_SAFETY = 1.5
_MIN_MAP_SIZE = 16 * 1024**2


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


def db_foreign_reason(path: str) -> Optional[str]:
    """:func:`foreign_reason` for one database folder of :func:`pack_lmdb`.

    Args:
        path (str): The database folder.

    Returns:
        str | None: Why it must not be replaced, or None.
    """
    return foreign_reason(path, SIDECAR_FILE, DB_FILES)


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


def pack_foreign_reason(path: str) -> Optional[str]:
    """Why the existing ``path`` must not be replaced by a pack (or None).

    A folder may be replaced when it is empty or a pack of
    :func:`pack_dataset`: ``mmderain_pack.json`` (or, for packs of older
    versions, an ``img.lmdb`` database) and nothing but its entries, whose
    databases hold nothing but database files.

    Args:
        path (str): The existing output folder.

    Returns:
        str | None: The reason, or None when ``path`` may be replaced.
    """
    legacy = osp.isfile(osp.join(path, IMG_DB, SIDECAR_FILE))
    reason = foreign_reason(path, PACK_MARKER, PACK_ENTRIES, legacy)
    if reason is not None:
        return reason
    for db in (IMG_DB, GT_DB):
        if osp.lexists(osp.join(path, db)):
            reason = db_foreign_reason(osp.join(path, db))
            if reason is not None:
                return f'{db}: {reason}'
    return None


def plan_pack(data_list: List[dict]) -> tuple:
    """Decide the keys of a packed dataset from its data infos.

    Keys are the sample ``key`` (for paired datasets the clean stem, so
    rainy and clean share keys). When several rainy images share one clean
    image (DDN, index files), rainy keys are the rainy file stems instead.
    Datasets without ground truth (no ``gt_path``) pack rainy images only.

    Args:
        data_list (list[dict]): Data infos with ``img_path``, ``key`` and,
            for paired data, ``gt_path``.

    Returns:
        tuple: ``img_items`` and ``gt_items`` (``(key, path)`` lists; the
        latter empty when unpaired) and ``pairs`` (``(img_key, [gt_key])``
        per sample).

    Raises:
        ValueError: If infos lack fields, keys cannot be made unique or one
            clean key names two different files.
    """
    paired = bool(data_list) and 'gt_path' in data_list[0]
    needed = {'img_path', 'key'} | ({'gt_path'} if paired else set())
    missing = [
        i for i, info in enumerate(data_list) if not needed <= set(info)
    ]
    if missing:
        raise ValueError(f'Data infos {missing[:10]} lack one of '
                         f'{sorted(needed)}')
    keys = [str(info['key']) for info in data_list]
    img_keys = keys
    if len(set(keys)) != len(keys):  # several rainy images per clean one
        img_keys = [
            osp.splitext(osp.basename(str(info['img_path'])))[0]
            for info in data_list
        ]
        dup = sorted({k for k in img_keys if img_keys.count(k) > 1})
        if dup:
            raise ValueError(
                'Sample keys repeat and so do rainy file stems; cannot key '
                f'the rainy database uniquely: {short_listing(dup)}')
    img_items = [(k, str(info['img_path']))
                 for k, info in zip(img_keys, data_list)]
    if not paired:
        return img_items, [], [(k, ) for k in img_keys]
    gt_items, gt_seen, conflicts = [], {}, []
    for info, key in zip(data_list, keys):
        path = str(info['gt_path'])
        if key not in gt_seen:
            gt_seen[key] = path
            gt_items.append((key, path))
        elif gt_seen[key] != path:
            conflicts.append(f'{key}: {gt_seen[key]} vs {path}')
    if conflicts:
        raise ValueError('One clean key names different files: ' +
                         short_listing(conflicts))
    return img_items, gt_items, list(zip(img_keys, keys))


def pack_dataset(data_list: List[dict],
                 out: str,
                 fmt: str = 'png',
                 compress_level: int = 1,
                 overwrite: bool = False,
                 show_progress: bool = True) -> tuple:
    """Pack a dataset's images into ``out`` (``img.lmdb``, ``gt.lmdb``,
    ``pairs.txt``).

    Everything is written into ``<out>.tmp-<pid>`` and put at ``out`` only
    when complete (see
    :func:`~mmderain.datasets.lmdb.atomic_output.replace_folder`), so an
    interrupted pack never leaves a folder that looks complete and a
    replaced pack stays in place until the new one is complete. ``out`` is
    refused before anything is written when it holds a source image, or
    when it exists and is not a pack written by this function (see
    :func:`pack_foreign_reason`); leftovers of killed runs next to ``out``
    are restored or removed (see
    :func:`~mmderain.datasets.lmdb.atomic_output.clean_stale`).

    Args:
        data_list (list[dict]): Data infos (see :func:`plan_pack`).
        out (str): Output folder.
        fmt (str): ``'png'`` (PNG bytes) or ``'raw'`` (uint8, no decoding
            when read). Defaults to ``'png'``.
        compress_level (int): PNG compression level. Defaults to 1.
        overwrite (bool): Replace an existing ``out``. Defaults to False.
        show_progress (bool): Show progress bars. Defaults to True.

    Returns:
        tuple: ``(img_items, gt_items, pairs)`` as :func:`plan_pack`.

    Raises:
        ValueError: If ``out`` holds a source image.
        FileExistsError: If ``out`` exists and ``overwrite`` is False, or
            it is not a pack.
    """
    if not data_list:
        raise ValueError('The dataset is empty; nothing to pack')
    img_items, gt_items, pairs = plan_pack(data_list)
    out = osp.abspath(out).rstrip(os.sep)
    check_outside_sources(out, (p for _, p in img_items + gt_items))
    clean_stale(out, PACK_MARKER, pack_foreign_reason)
    check_replaceable(out, overwrite, pack_foreign_reason)
    tmp = f'{out}.tmp-{os.getpid()}'
    os.makedirs(tmp)  # outside the try: never remove what was there
    marker = dict(
        tool='mmderain pack_lmdb',
        version=1,
        complete=False,
        format=fmt,
        samples=len(pairs),
        images={IMG_DB: len(img_items)})
    if gt_items:
        marker['images'][GT_DB] = len(gt_items)
    try:
        # first: marks the temporary folder as ours (see clean_stale)
        write_json(osp.join(tmp, PACK_MARKER), marker)
        for db, items in ((IMG_DB, img_items), (GT_DB, gt_items)):
            if items:
                print(f'Packing {len(items)} images ({fmt}) into '
                      f'{osp.join(out, db)}')
                pack_lmdb(
                    items,
                    osp.join(tmp, db),
                    fmt=fmt,
                    compress_level=compress_level,
                    show_progress=show_progress)
        with open(osp.join(tmp, PAIRS_FILE), 'w') as f:
            f.writelines(' '.join(p) + '\n' for p in pairs)
        marker['complete'] = True
        write_json(osp.join(tmp, PACK_MARKER), marker)
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return img_items, gt_items, pairs


def verify_dataset(data_list: List[dict],
                   out: str,
                   show_progress: bool = True) -> List[str]:
    """Decode every record of a packed dataset and compare with the source.

    Args:
        data_list (list[dict]): The data infos it was packed from.
        out (str): The packed folder.
        show_progress (bool): Show progress bars. Defaults to True.

    Returns:
        list[str]: One failure message per database that does not match
        (empty when everything matches).
    """
    if not osp.isdir(out):
        raise FileNotFoundError(f'Nothing to verify: {out} not found')
    img_items, gt_items, _ = plan_pack(data_list)
    failures = []
    for db, items in ((IMG_DB, img_items), (GT_DB, gt_items)):
        if not items:
            continue
        try:
            report = verify_lmdb(
                items, osp.join(out, db), show_progress=show_progress)
            print(f'Verified {osp.join(out, db)}: {report["checked"]} '
                  'images OK')
        except LmdbVerifyError as err:
            failures.append(str(err))
    return failures
