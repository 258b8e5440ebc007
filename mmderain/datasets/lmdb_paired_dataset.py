# Copyright (c) mmderain contributors. All rights reserved.
"""Rainy/clean pairs stored in two LMDB databases."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from mmderain.datasets.lmdb_backend import lmdb_data_list
from mmderain.registry import DATASETS


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
        root = self.data_root
        return lmdb_data_list(
            root,
            img_db=osp.relpath(self.img_db, root),
            gt_db=osp.relpath(self.gt_db, root),
            pairs_file=osp.relpath(self.pairs_file, root)
            if self.pairs_file else None)
