# Copyright (c) mmderain contributors. All rights reserved.
"""The base of mmderain's file datasets: shared arguments and storage."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import get_file_backend

from mmderain.utils.path import IMG_EXTENSIONS
from .lmdb import default_lmdb_root, lmdb_data_list

#: Default accepted extensions (without the dot) of the file datasets.
IMG_SUFFIXES = tuple(ext[1:] for ext in IMG_EXTENSIONS)
#: Values of ``backend``.
BACKENDS = ('disk', 'lmdb')


class BaseDerainDataset(BaseDataset):
    """Base of the derain datasets: shared arguments, disk or LMDB storage.

    A subclass describes one folder layout: it sets :attr:`PREFIX_KEYS`
    (the folders it reads, e.g. ``('img', 'gt')``) and
    :attr:`DEFAULT_PREFIX`, checks its own arguments and implements
    :meth:`load_disk_data_list` (its file scan). This class checks
    ``data_prefix``, sets up the file backend and chooses where the samples
    come from:

    - ``backend='disk'``: :meth:`load_disk_data_list`;
    - ``backend='lmdb'``: the folder packed from the same dataset by
      ``tools/dataset_converters/pack_lmdb.py`` (``lmdb_root``, by default
      ``<data_root>_lmdb``; see :mod:`mmderain.datasets.lmdb.layout`), plus
      :meth:`lmdb_extra_info`. Nothing else in the config changes:
      ``LoadImageFromFile`` follows the LMDB records.

    Every data info holds ``img_path``, ``key`` and, for paired data,
    ``gt_path`` (in LMDB mode also ``img_db_path``/``img_lmdb_key`` and the
    ``gt_*`` equivalents).

    Args:
        data_root (str, optional): Root of ``data_prefix`` and ``ann_file``.
            Defaults to None.
        data_prefix (dict, optional): Folders of the rainy (``img``) and,
            for paired layouts, clean (``gt``) images, relative to
            ``data_root``; exactly the keys of :attr:`PREFIX_KEYS`.
            Defaults to None (:attr:`DEFAULT_PREFIX` of the subclass).
        pipeline (Sequence[dict | Callable]): Processing pipeline.
            Defaults to ().
        ann_file (str): Annotation file of the layouts that read one.
            Defaults to ''.
        metainfo (dict, optional): Meta information. Defaults to None.
        test_mode (bool): Whether the dataset is used for testing.
            Defaults to False.
        backend_args (dict, optional): Arguments of the file backend.
            Defaults to None.
        backend (str): ``'disk'`` reads the image files; ``'lmdb'`` reads
            the databases packed by ``tools/dataset_converters/pack_lmdb.py``
            (nothing else in the config changes). Defaults to ``'disk'``.
        lmdb_root (str, optional): Folder of the packed databases. Defaults
            to ``<data_root>_lmdb``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.

    Raises:
        ValueError: If ``data_prefix`` has other keys than
            :attr:`PREFIX_KEYS` or ``backend`` is unknown.
        FileNotFoundError: In LMDB mode, if the pack is missing (the message
            names the packing tool).
    """

    #: Keys of ``data_prefix`` the layout reads.
    PREFIX_KEYS: Tuple[str, ...] = ('img', 'gt')
    #: ``data_prefix`` when none is given.
    DEFAULT_PREFIX: Dict[str, str] = dict(img='', gt='')

    def __init__(self,
                 data_root: Optional[str] = None,
                 data_prefix: Optional[Dict[str, str]] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 test_mode: bool = False,
                 backend_args: Optional[dict] = None,
                 backend: str = 'disk',
                 lmdb_root: Optional[str] = None,
                 **kwargs) -> None:
        if data_prefix is None:
            data_prefix = dict(self.DEFAULT_PREFIX)
        if set(data_prefix) != set(self.PREFIX_KEYS):
            keys = self.PREFIX_KEYS
            names = ', '.join(f'"{k}"' for k in keys)
            raise ValueError(
                f'data_prefix of {type(self).__name__} must have exactly the '
                f'key{"s" if len(keys) > 1 else ""} {names}, got '
                f'{data_prefix}')
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
        self.backend_args = backend_args
        self.file_backend = get_file_backend(
            uri=self._backend_uri(data_root, data_prefix, ann_file),
            backend_args=backend_args)
        self.backend = backend
        self.lmdb_root = lmdb_root
        if backend == 'lmdb' and lmdb_root is None:
            self.lmdb_root = default_lmdb_root(data_root or '')
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root or '',
            data_prefix=dict(data_prefix),
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    @staticmethod
    def _backend_uri(data_root: Optional[str], data_prefix: Dict[str, str],
                     ann_file: str) -> str:
        """The path the file backend is inferred from.

        Args:
            data_root (str, optional): The dataset's root.
            data_prefix (dict): Folders by key.
            ann_file (str): The annotation file.

        Returns:
            str: ``data_root``, else the first folder, else ``'.'``.
        """
        return data_root or next(iter(data_prefix.values())) or '.'

    def load_disk_data_list(self) -> List[dict]:
        """List the samples from the image files (the layout's scan).

        Returns:
            list[dict]: Data infos.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement load_disk_data_list()')

    def lmdb_extra_info(self) -> dict:
        """Fields added to every data info in LMDB mode (none by default).

        Returns:
            dict: Fields the layout keeps with every sample.
        """
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
