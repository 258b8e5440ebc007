# Copyright (c) mmderain contributors. All rights reserved.
"""Loading the LMDB samples of a dataset with ``backend='lmdb'``.

Internal to :class:`~mmderain.datasets.transforms.loading.LoadImageFromFile`,
which hands every sample carrying ``[KEY]_db_path`` to it; it is not a
registered transform (configs load LMDB samples with ``LoadImageFromFile``).
"""
import os.path as osp
from typing import Dict, Optional

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from ..lmdb import LmdbImageReader

COLOR_TYPES = ('color', 'grayscale', 'unchanged')


class LoadImageFromLmdb(BaseTransform):
    """Load an image from a packed LMDB database (internal, unregistered).

    Reads both the ``'png'`` and the ``'raw'`` format (raw records need no
    decoding). The database folder is ``db_path`` if given, otherwise
    ``results['{key}_db_path']`` (set by datasets in LMDB mode). The
    record key is ``results['{key}_lmdb_key']`` if present, otherwise the
    file stem of ``results['{key}_path']`` (mmagic's convention for its
    LMDB backend). Databases are opened lazily, read-only and once per
    process, so the transform is safe in DataLoader workers.

    The output matches mmagic's ``LoadImageFromFile``: ``color_type``
    ``'color'`` gives 3 channels (gray is expanded, alpha dropped),
    ``'grayscale'`` one channel and ``'unchanged'`` the stored image;
    ``channel_order='rgb'`` converts from the stored BGR. Images are HWC.

    Args:
        key (str): Result key, e.g. ``'img'`` or ``'gt'``.
        db_path (str, optional): The database folder. Defaults to None.
        color_type (str): ``'color'``, ``'grayscale'`` or ``'unchanged'``.
            Defaults to ``'color'``.
        channel_order (str): ``'bgr'`` or ``'rgb'``. Defaults to ``'bgr'``.
        to_float32 (bool): Convert to float32. Defaults to False.
        verify_checksums (bool, optional): Check the CRC-32 of raw records
            (see :class:`~mmderain.datasets.lmdb.reader.LmdbImageReader`).
            Defaults to None: True unless the environment variable
            ``MMDERAIN_LMDB_VERIFY_CHECKSUMS`` is ``0``.

    Required Keys:

    - [KEY]_db_path (unless ``db_path`` is given)
    - [KEY]_lmdb_key or [KEY]_path

    Added Keys:

    - [KEY]
    - ori_[KEY]_shape
    - [KEY]_channel_order
    - [KEY]_color_type
    """

    def __init__(self,
                 key: str,
                 db_path: Optional[str] = None,
                 color_type: str = 'color',
                 channel_order: str = 'bgr',
                 to_float32: bool = False,
                 verify_checksums: Optional[bool] = None) -> None:
        if color_type not in COLOR_TYPES:
            raise ValueError(
                f'color_type must be one of {COLOR_TYPES}, got {color_type!r}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError("channel_order must be 'bgr' or 'rgb', got "
                             f'{channel_order!r}')
        self.key = key
        self.db_path = db_path
        self.color_type = color_type
        self.channel_order = channel_order
        self.to_float32 = to_float32
        self.verify_checksums = verify_checksums
        self._readers: Dict[str, LmdbImageReader] = {}

    def _reader(self, db_path: str) -> LmdbImageReader:
        reader = self._readers.get(db_path)
        if reader is None:
            reader = self._readers[db_path] = LmdbImageReader(
                db_path, verify_checksums=self.verify_checksums)
        return reader

    def transform(self, results: dict) -> dict:
        """Load the image of ``self.key``.

        Args:
            results (dict): Result dict of the dataset.

        Returns:
            dict: ``results`` with the image and its meta information.
        """
        db_path = self.db_path or results.get(f'{self.key}_db_path')
        if not db_path:
            raise KeyError(
                f'LoadImageFromLmdb(key={self.key!r}) needs db_path or '
                f'results[{self.key + "_db_path"!r}]')
        lmdb_key = results.get(f'{self.key}_lmdb_key')
        if lmdb_key is None:
            path = results.get(f'{self.key}_path')
            if path is None:
                raise KeyError(f'LoadImageFromLmdb(key={self.key!r}) needs '
                               f'results[{self.key + "_lmdb_key"!r}] or '
                               f'results[{self.key + "_path"!r}]')
            lmdb_key = osp.splitext(osp.basename(str(path)))[0]
        img = self._reader(db_path).get(lmdb_key)
        img = self._convert(img)
        results[self.key] = img
        results[f'ori_{self.key}_shape'] = img.shape
        results[f'{self.key}_channel_order'] = self.channel_order
        results[f'{self.key}_color_type'] = self.color_type
        return results

    def _convert(self, img: np.ndarray) -> np.ndarray:
        """Apply color type, channel order and dtype (returns a copy)."""
        c = img.shape[2]
        if self.color_type == 'color':
            if c == 1:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            elif c == 4:
                img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
            if self.channel_order == 'rgb':
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        elif self.color_type == 'grayscale':
            if c == 3:
                img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            elif c == 4:
                img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
        elif self.channel_order == 'rgb' and c in (3, 4):
            img = mmcv.bgr2rgb(img) if c == 3 else cv2.cvtColor(
                img, cv2.COLOR_BGRA2RGBA)
        if img.ndim == 2:
            img = img[:, :, None]
        if self.to_float32:
            return img.astype(np.float32)
        # raw records are read-only views of the LMDB value
        return img if img.flags.writeable else img.copy()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_readers'] = {}
        return state

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(key={self.key!r}, '
                f'db_path={self.db_path!r}, color_type={self.color_type!r}, '
                f'channel_order={self.channel_order!r}, '
                f'to_float32={self.to_float32}, '
                f'verify_checksums={self.verify_checksums})')
