# Copyright (c) mmderain contributors. All rights reserved.
"""The folder of a packed dataset and the samples it lists.

A dataset packed by ``tools/dataset_converters/pack_lmdb.py`` lives in a
folder holding ``img.lmdb`` (rainy images), ``gt.lmdb`` (clean images, absent
for datasets without ground truth) and ``pairs.txt`` (one sample per line:
``img_key [gt_key]``), marked as a pack by ``mmderain_pack.json``. By default
that folder is ``<data_root>_lmdb``, so a config switches a dataset to LMDB
by changing one field::

    train_dataloader = dict(dataset=dict(dataset=dict(backend='lmdb')))

In LMDB mode a dataset (see
:class:`~mmderain.datasets.base_dataset.BaseDerainDataset`) lists its
samples with :func:`lmdb_data_list` instead of scanning files, and each data
info carries ``img_db_path``/``img_lmdb_key`` (and ``gt_*``), which
``LoadImageFromFile`` follows: the pipeline is unchanged. Readers open
lazily in each process (DataLoader workers and distributed ranks each open
their own read-only environment).
"""
import glob
import os.path as osp
from typing import List, Optional

from mmderain.utils.path import short_listing
from ..folder_utils import list_file_fields
from .reader import check_data_size, read_meta_info

IMG_DB = 'img.lmdb'
GT_DB = 'gt.lmdb'
PAIRS_FILE = 'pairs.txt'
PACK_MARKER = 'mmderain_pack.json'
PACK_ENTRIES = (IMG_DB, GT_DB, PAIRS_FILE, PACK_MARKER)


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
    with open(pairs_file, encoding='ascii') as f:
        return [
            tuple(fields) for _, fields in list_file_fields(
                f, pairs_file, 2, '"img_key [gt_key]"')
        ]


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
