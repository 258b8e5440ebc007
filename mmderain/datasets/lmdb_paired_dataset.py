# Copyright (c) mmderain contributors. All rights reserved.
"""Rainy/clean pairs stored in two LMDB databases."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from mmderain.datasets.lmdb_utils import read_meta_info
from mmderain.registry import DATASETS

_MAX_LISTED = 10


def _listing(names: Sequence[str]) -> str:
    shown = ', '.join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f', ... ({more} more)' if more > 0 else '')


@DATASETS.register_module()
class LmdbPairedDataset(BaseDataset):
    """Pairs from ``<data_root>/img.lmdb`` and ``<data_root>/gt.lmdb``.

    The layout is the one ``tools/dataset_converters/pack_lmdb.py``
    writes. Pairs are read from ``pairs.txt`` (lines ``img_key gt_key``,
    ``#`` comments) when it exists, otherwise every key of the rainy
    database's ``meta_info.txt`` pairs with the same key of the clean one.
    Use :class:`LoadImageFromLmdb` in the pipeline.

    Each data info holds ``key`` (the rainy key), ``img_lmdb_key``,
    ``gt_lmdb_key``, ``img_db_path``, ``gt_db_path`` and, for mmagic
    compatibility, ``img_path``/``gt_path`` = ``<db>/<key>`` (mmagic's
    LMDB backend uses the stem of the path as the key).

    Args:
        data_root (str): Folder holding the two databases.
        pipeline (Sequence[dict | Callable]): Processing pipeline.
            Defaults to ().
        img_db (str): Rainy database, relative to ``data_root``.
            Defaults to ``'img.lmdb'``.
        gt_db (str): Clean database. Defaults to ``'gt.lmdb'``.
        ann_file (str): Pair list, relative to ``data_root``; ignored when
            missing. Defaults to ``'pairs.txt'``.
        metainfo (dict, optional): Meta information. Defaults to None.
        test_mode (bool): Whether the dataset is used for testing.
            Defaults to False.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(dataset_type='lmdb_paired_dataset', task_name='derain')

    def __init__(self,
                 data_root: str,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 img_db: str = 'img.lmdb',
                 gt_db: str = 'gt.lmdb',
                 ann_file: str = 'pairs.txt',
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        self.img_db = osp.join(data_root, img_db)
        self.gt_db = osp.join(data_root, gt_db)
        self.pairs_file = osp.join(data_root, ann_file) if ann_file else ''
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the pairs and check that every key exists.

        Returns:
            list[dict]: The data infos.
        """
        img_keys = read_meta_info(self.img_db)
        gt_keys = read_meta_info(self.gt_db)
        pairs = []
        if self.pairs_file and osp.isfile(self.pairs_file):
            with open(self.pairs_file, encoding='ascii') as f:
                for line_no, line in enumerate(f, start=1):
                    fields = line.split()
                    if not fields or fields[0].startswith('#'):
                        continue
                    if len(fields) != 2:
                        raise ValueError(
                            f'{self.pairs_file}:{line_no}: expected '
                            f'"img_key gt_key", got {line.strip()!r}')
                    pairs.append(tuple(fields))
        else:
            pairs = [(k, k) for k in img_keys]
        missing_img = [i for i, _ in pairs if i not in img_keys]
        missing_gt = sorted({g for _, g in pairs if g not in gt_keys})
        if missing_img or missing_gt:
            msg = ['Keys missing from the LMDB databases:']
            if missing_img:
                msg.append(f'{len(missing_img)} in {self.img_db}: '
                           f'{_listing(missing_img)}.')
            if missing_gt:
                msg.append(f'{len(missing_gt)} in {self.gt_db}: '
                           f'{_listing(missing_gt)}.')
            raise KeyError(' '.join(msg))
        if not pairs:
            raise ValueError(f'No pair found in {self.data_root}')
        return [
            dict(
                key=img_key,
                img_lmdb_key=img_key,
                gt_lmdb_key=gt_key,
                img_db_path=self.img_db,
                gt_db_path=self.gt_db,
                img_path=osp.join(self.img_db, img_key),
                gt_path=osp.join(self.gt_db, gt_key))
            for img_key, gt_key in pairs
        ]
