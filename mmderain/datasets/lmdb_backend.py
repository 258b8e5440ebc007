# Copyright (c) mmderain contributors. All rights reserved.
"""The ``backend='lmdb'`` switch shared by every mmderain dataset.

A dataset packed by ``tools/dataset_converters/pack_lmdb.py`` lives in a
folder holding ``img.lmdb`` (rainy images), ``gt.lmdb`` (clean images, absent
for datasets without ground truth) and ``pairs.txt`` (one sample per line:
``img_key [gt_key]``), marked as a pack by ``mmderain_pack.json`` (written
first into the temporary folder with ``"complete": false``, rewritten with
``true`` when the pack is complete). By default that folder is
``<data_root>_lmdb``, so a config switches a dataset to LMDB by changing one
field::

    train_dataloader = dict(dataset=dict(dataset=dict(backend='lmdb')))

In LMDB mode the dataset lists its samples from ``pairs.txt`` instead of
scanning files, and each data info carries ``img_db_path``/``img_lmdb_key``
(and ``gt_*``), which ``LoadImageFromFile`` follows: the pipeline is
unchanged. Readers open lazily in each process (DataLoader workers and
distributed ranks each open their own read-only environment).
"""
import glob
import os
import os.path as osp
import shutil
from typing import List, Optional

from mmengine.fileio import get_file_backend

from mmderain.utils.path import short_listing
from .lmdb_utils import (SIDECAR_FILE, LmdbVerifyError, check_data_size,
                         check_outside_sources, check_replaceable, clean_stale,
                         db_foreign_reason, foreign_reason, pack_lmdb,
                         read_meta_info, replace_folder, verify_lmdb,
                         write_json)

BACKENDS = ('disk', 'lmdb')
IMG_DB = 'img.lmdb'
GT_DB = 'gt.lmdb'
PAIRS_FILE = 'pairs.txt'
PACK_MARKER = 'mmderain_pack.json'
PACK_ENTRIES = (IMG_DB, GT_DB, PAIRS_FILE, PACK_MARKER)


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


def default_lmdb_root(data_root: str) -> str:
    """``<data_root>_lmdb``: where the packer writes a dataset by default.

    Args:
        data_root (str): The dataset's folder.

    Returns:
        str: The LMDB folder.
    """
    if not data_root:
        raise ValueError('data_root is needed to derive the LMDB folder; '
                         'set lmdb_root')
    return osp.normpath(data_root) + '_lmdb'


def read_pairs(pairs_file: str) -> List[tuple]:
    """Read ``pairs.txt``: ``img_key`` or ``img_key gt_key`` per line.

    Args:
        pairs_file (str): Path of the file.

    Returns:
        list[tuple]: ``(img_key,)`` or ``(img_key, gt_key)`` per sample.
    """
    pairs = []
    with open(pairs_file, encoding='ascii') as f:
        for line_no, line in enumerate(f, start=1):
            fields = line.split()
            if not fields or fields[0].startswith('#'):
                continue
            if len(fields) > 2:
                raise ValueError(f'{pairs_file}:{line_no}: expected '
                                 f'"img_key [gt_key]", got {line.strip()!r}')
            pairs.append(tuple(fields))
    return pairs


def lmdb_data_list(root: str,
                   img_db: str = IMG_DB,
                   gt_db: str = GT_DB,
                   pairs_file: Optional[str] = PAIRS_FILE) -> List[dict]:
    """Data infos of a packed dataset, every key checked against the DBs.

    Args:
        root (str): Folder holding the databases.
        img_db (str): Rainy database, relative to ``root``.
        gt_db (str): Clean database, relative to ``root``; optional when
            ``pairs.txt`` has one column.
        pairs_file (str, optional): Sample list, relative to ``root``;
            without it every rainy key pairs with the same clean key.

    Returns:
        list[dict]: Infos with ``key``, ``img_path``, ``img_db_path``,
        ``img_lmdb_key`` and, for paired data, the ``gt_*`` equivalents.
    """
    img_db, gt_db = osp.join(root, img_db), osp.join(root, gt_db)
    if not osp.isdir(img_db):
        left = sorted(glob.glob(glob.escape(osp.normpath(root)) + '.old-*'))
        hint = (f'; {left[0]} is the pack a killed run was replacing: the '
                'next pack_lmdb.py run restores it'
                if left and not osp.exists(root) else '')
        raise FileNotFoundError(
            f'LMDB database not found: {img_db} (pack the dataset with '
            f'tools/dataset_converters/pack_lmdb.py){hint}')
    img_keys = read_meta_info(img_db)
    pairs_path = osp.join(root, pairs_file) if pairs_file else ''
    if pairs_path and osp.isfile(pairs_path):
        pairs = read_pairs(pairs_path)
    else:
        pairs = [(k, k) for k in img_keys]
    if not pairs:
        raise ValueError(f'No sample found in {root}')
    paired = len(pairs[0]) == 2
    if any(len(p) != len(pairs[0]) for p in pairs):
        raise ValueError(f'{pairs_path}: mixes paired and unpaired lines')
    gt_keys = read_meta_info(gt_db) if paired else {}
    for db in (img_db, gt_db) if paired else (img_db, ):
        check_data_size(db)  # here, not as SIGBUS in a DataLoader worker
    missing_img = [p[0] for p in pairs if p[0] not in img_keys]
    missing_gt = sorted(
        {p[1]
         for p in pairs if paired and p[1] not in gt_keys})
    if missing_img or missing_gt:
        msg = ['Keys missing from the LMDB databases:']
        if missing_img:
            msg.append(f'{len(missing_img)} in {img_db}: '
                       f'{short_listing(missing_img)}.')
        if missing_gt:
            msg.append(f'{len(missing_gt)} in {gt_db}: '
                       f'{short_listing(missing_gt)}.')
        raise KeyError(' '.join(msg))
    infos = []
    for pair in pairs:
        info = dict(
            key=pair[0],
            img_path=osp.join(img_db, pair[0]),
            img_db_path=img_db,
            img_lmdb_key=pair[0])
        if paired:
            info.update(
                gt_path=osp.join(gt_db, pair[1]),
                gt_db_path=gt_db,
                gt_lmdb_key=pair[1])
        infos.append(info)
    return infos


class LmdbBackendMixin:
    """Adds ``backend='disk'|'lmdb'`` and ``lmdb_root`` to a dataset.

    The dataset implements ``load_disk_data_list()`` (its file scan) and
    may add per-sample fields that LMDB mode must keep with
    ``lmdb_extra_info()``; it calls :meth:`_init_storage` before
    ``BaseDataset.__init__``.
    """

    def _init_storage(self,
                      data_root: Optional[str],
                      data_prefix: dict,
                      prefix_keys: tuple,
                      backend_args: Optional[dict],
                      backend: str,
                      lmdb_root: Optional[str],
                      uri: Optional[str] = None) -> None:
        """Check ``data_prefix`` and set up the file and LMDB backends.

        Args:
            data_root (str, optional): The dataset's root.
            data_prefix (dict): Folders by key; must have exactly
                ``prefix_keys``.
            prefix_keys (tuple[str]): The keys the dataset reads, e.g.
                ``('img', 'gt')``.
            backend_args (dict, optional): MMEngine file backend arguments.
            backend (str): ``'disk'`` or ``'lmdb'``.
            lmdb_root (str, optional): Folder of the packed databases.
            uri (str, optional): Path the file backend is inferred from.
                Defaults to ``data_root`` or the first prefix.
        """
        if set(data_prefix) != set(prefix_keys):
            names = ', '.join(f'"{k}"' for k in prefix_keys)
            raise ValueError(
                f'data_prefix of {type(self).__name__} must have exactly the '
                f'key{"s" if len(prefix_keys) > 1 else ""} {names}, got '
                f'{data_prefix}')
        self.backend_args = backend_args
        self.file_backend = get_file_backend(
            uri=uri or data_root or next(iter(data_prefix.values())) or '.',
            backend_args=backend_args)
        self._init_backend(backend, lmdb_root, data_root)

    def _init_backend(self, backend: str, lmdb_root: Optional[str],
                      data_root: Optional[str]) -> None:
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
        self.backend = backend
        self.lmdb_root = lmdb_root
        if backend == 'lmdb' and lmdb_root is None:
            self.lmdb_root = default_lmdb_root(data_root or '')

    def lmdb_extra_info(self) -> dict:
        """Fields added to every data info in LMDB mode (none by default)."""
        return {}

    def load_data_list(self) -> List[dict]:
        """The samples: scanned from files, or read from the LMDB folder.

        Returns:
            list[dict]: Data infos.
        """
        if self.backend == 'disk':
            return self.load_disk_data_list()
        extra = self.lmdb_extra_info()
        return [{**info, **extra} for info in lmdb_data_list(self.lmdb_root)]


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
    when complete (see :func:`~mmderain.datasets.lmdb_utils.replace_folder`),
    so an interrupted pack never leaves a folder that looks complete and a
    replaced pack stays in place until the new one is complete. ``out`` is
    refused before anything is written when it holds a source image, or
    when it exists and is not a pack written by this function (see
    :func:`pack_foreign_reason`); leftovers of killed runs next to ``out``
    are restored or removed (see
    :func:`~mmderain.datasets.lmdb_utils.clean_stale`).

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
