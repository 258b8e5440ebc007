# Copyright (c) mmderain contributors. All rights reserved.
"""Image loading with clear errors."""
from typing import Optional

import numpy as np

from mmderain.registry import TRANSFORMS
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.datasets.transforms import LoadImageFromFile as _MMagicLoad


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
    :class:`mmagic.datasets.transforms.LoadImageFromFile`.

    Required Keys:

    - [KEY]_path

    Added Keys:

    - [KEY]
    - ori_[KEY]_shape
    - [KEY]_channel_order
    - [KEY]_color_type
    - ori_[KEY] (with ``save_original_img=True``)
    """

    def _load_image(self, filename: str) -> np.ndarray:
        """Read and decode one image.

        Args:
            filename (str): Path of the image file.

        Returns:
            np.ndarray: The decoded image.
        """
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
