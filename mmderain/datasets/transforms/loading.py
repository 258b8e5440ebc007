# Copyright (c) mmderain contributors. All rights reserved.
"""Image loading with clear errors."""
from typing import Dict, Optional

import cv2
import numpy as np

from mmderain.registry import TRANSFORMS
from mmderain.utils.imports import quiet_mmagic_import
from .lmdb_loading import LoadImageFromLmdb

with quiet_mmagic_import():
    from mmagic.datasets.transforms import LoadImageFromFile as _MMagicLoad


def read_image(path: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """``cv2.imread(path, flags)`` that fails loudly, naming the file.

    For the tools and ops that read plain files (masks, folders of images)
    outside a pipeline.

    Args:
        path (str): Image file.
        flags (int): ``cv2.imread`` flags, e.g. ``cv2.IMREAD_GRAYSCALE``
            for a mask. Defaults to ``cv2.IMREAD_COLOR``.

    Returns:
        np.ndarray: The image.

    Raises:
        OSError: If the file is missing, unreadable or not an image.
    """
    img = cv2.imread(path, flags)
    if img is None:
        raise OSError(f'cannot read image {path} (missing, unreadable or '
                      'not an image OpenCV decodes)')
    return img


@TRANSFORMS.register_module()
class LoadImageFromFile(_MMagicLoad):
    """mmagic's ``LoadImageFromFile`` that names the file when loading fails.

    Registered in the ``mmderain`` scope under the same name, so configs
    with ``default_scope='mmderain'`` use it. mmagic's version fails on a
    missing, empty or undecodable file with an error that does not name
    the file (``mmcv.imfrombytes`` returns ``None`` or raises an OpenCV
    assertion); this one raises:

    - ``FileNotFoundError`` naming the file if it does not exist;
    - ``OSError`` naming the file if it cannot be read or decoded
      (corrupt, truncated, empty or not an image). The original error is
      chained as ``__cause__``.

    All arguments and keys are those of
    :class:`mmagic.datasets.transforms.LoadImageFromFile`, plus
    ``verify_checksums`` for LMDB samples (see :class:`LoadImageFromLmdb`:
    None follows ``MMDERAIN_LMDB_VERIFY_CHECKSUMS``, on by default) and
    ``optional``: with True, a sample without ``[KEY]_path`` (e.g. a
    rainy image without a clean counterpart) passes unchanged; and
    ``cache_decoded``: with True, every decoded image is kept in the
    process's memory and later loads of the same file copy it instead of
    decoding again (for small sets read many times, e.g. random crops of a
    few hundred images over thousands of epochs: the decoding of a PNG
    costs far more than its crop; mind the memory, all decoded images of a
    worker stay, about 0.46 MB per 320x480 RGB image).

    Required Keys:

    - [KEY]_path

    Added Keys:

    - [KEY]
    - ori_[KEY]_shape
    - [KEY]_channel_order
    - [KEY]_color_type
    - ori_[KEY] (with ``save_original_img=True``)
    """

    def __init__(self,
                 *args,
                 verify_checksums: Optional[bool] = None,
                 optional: bool = False,
                 cache_decoded: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.verify_checksums = verify_checksums
        self.optional = optional
        self.cache_decoded = cache_decoded
        self._decoded: Dict[str, np.ndarray] = {}

    def transform(self, results: dict) -> dict:
        """Load the image of ``self.key`` from its file or LMDB record.

        Samples of a dataset in LMDB mode (``backend='lmdb'``) carry
        ``[KEY]_db_path``/``[KEY]_lmdb_key``; they are read with
        :class:`LoadImageFromLmdb` and the same options, so a pipeline works
        unchanged for both backends.

        Args:
            results (dict): Result dict of the dataset.

        Returns:
            dict: ``results`` with the image and its meta information.
        """
        if self.optional and results.get(f'{self.key}_path') is None:
            return results
        if results.get(f'{self.key}_db_path') is None:
            return super().transform(results)
        if self.to_y_channel or self.save_original_img:
            raise ValueError(
                f'LoadImageFromFile(key={self.key!r}): to_y_channel and '
                'save_original_img are not supported for LMDB samples')
        if getattr(self, '_lmdb_loader', None) is None:
            self._lmdb_loader = LoadImageFromLmdb(
                key=self.key,
                color_type=self.color_type,
                channel_order=self.channel_order,
                to_float32=self.to_float32,
                verify_checksums=self.verify_checksums)
        return self._lmdb_loader.transform(results)

    def _load_image(self, filename: str) -> np.ndarray:
        """Read and decode one image.

        Args:
            filename (str): Path of the image file.

        Returns:
            np.ndarray: The decoded image (a copy of the cached one with
            ``cache_decoded``: later transforms may change it in place).
        """
        if self.cache_decoded:
            img = self._decoded.get(filename)
            if img is None:
                img = self._decoded[filename] = self._decode(filename)
            return img.copy()
        return self._decode(filename)

    def _decode(self, filename: str) -> np.ndarray:
        try:
            img = super()._load_image(filename)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f'Image file not found (key {self.key!r}): {filename}'
            ) from err
        except Exception as err:  # decoders raise assorted types
            raise OSError(self._failure(filename, err)) from err
        if not isinstance(img, np.ndarray) or img.size == 0:
            raise OSError(self._failure(filename, None))
        return img

    def _failure(self, filename: str, err: Optional[Exception]) -> str:
        """Message for an unreadable image."""
        reason = f' [{type(err).__name__}: {err}]' if err is not None else ''
        return (f'Cannot read image (key {self.key!r}): {filename}; the '
                'file is unreadable, corrupt, truncated or not an image'
                f'{reason}')
