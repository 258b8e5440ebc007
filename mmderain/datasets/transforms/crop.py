# Copyright (c) mmderain contributors. All rights reserved.
"""Aligned cropping of paired images, and cropping to a size multiple."""
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmderain.registry import TRANSFORMS
from .check import check_paired_size, describe


def crop_to_multiple(img: np.ndarray, multiple: int = 16) -> np.ndarray:
    """The top-left crop of ``img`` with each side floored to ``multiple``.

    The Rain2Avoid protocol crops Rain100L's 321x481 images to 320x480 this
    way (its networks need sides that are multiples of 16).

    Args:
        img (np.ndarray): Image (H, W) or (H, W, C).
        multiple (int): Both sides become multiples of it. Defaults to 16.

    Returns:
        np.ndarray: A view of ``img``, ``(H - H % m, W - W % m, ...)``.

    Raises:
        ValueError: If ``multiple`` is not a positive int, ``img`` has fewer
            than two dimensions, or a side is shorter than ``multiple``.
    """
    is_int = isinstance(multiple, (int, np.integer))
    if not is_int or isinstance(multiple, bool) or multiple < 1:
        raise ValueError(f'multiple must be a positive int, got {multiple!r}')
    if img.ndim < 2:
        raise ValueError('expected an image (H, W) or (H, W, C), got shape '
                         f'{img.shape}')
    h, w = img.shape[:2]
    if h < multiple or w < multiple:
        raise ValueError(f'Image size {h}x{w} (HxW) is smaller than the '
                         f'multiple {multiple}: nothing would be left')
    return img[:h - h % multiple, :w - w % multiple]


@TRANSFORMS.register_module()
class PairedRandomCrop(BaseTransform):
    """Crop the images of a pair at the same random location.

    Unlike mmagic's ``PairedRandomCrop`` (super-resolution, LQ/GT scale),
    input and target have the same size here and no ``scale`` key is
    needed. The offset is drawn from NumPy's global generator, which
    MMEngine seeds per worker.

    Required Keys:

    - [KEYS]
    - [KEY]_path (optional, used in error messages)

    Modified Keys:

    - [KEYS]

    Added Keys:

    - crop_bbox: ``[x_offset, y_offset, crop_w, crop_h]`` in the input
      images (mmagic's convention).

    Args:
        patch_size (int | tuple[int, int]): Patch size, ``s`` or
            ``(h, w)``.
        keys (str | Sequence[str]): Images to crop, all of the same size.
            Defaults to ``('img', 'gt')``.

    Raises:
        ValueError: At transform time, if the images differ in size or are
            smaller than the patch (the files are named).
    """

    def __init__(
        self,
        patch_size: Union[int, Tuple[int, int]],
        keys: Union[str, Sequence[str]] = ('img', 'gt')
    ) -> None:
        if isinstance(patch_size, (int, np.integer)):
            patch_size = (patch_size, patch_size)
        valid = isinstance(patch_size, Sequence) and len(patch_size) == 2
        if not valid or not all(
                isinstance(s, (int, np.integer)) and s > 0
                for s in patch_size):
            raise ValueError('patch_size must be a positive int or (h, w), '
                             f'got {patch_size}')
        self.patch_size = (int(patch_size[0]), int(patch_size[1]))
        self.keys = [keys] if isinstance(keys, str) else list(keys)

    def transform(self, results: dict) -> dict:
        """Crop the images.

        Args:
            results (dict): The sample.

        Returns:
            dict: The sample with cropped images and ``crop_bbox``.
        """
        h, w = check_paired_size(results, self.keys)
        ph, pw = self.patch_size
        if h < ph or w < pw:
            files = ', '.join(describe(results, k) for k in self.keys)
            raise ValueError(f'Image size {h}x{w} (HxW) is smaller than the '
                             f'patch size {ph}x{pw}: {files}')
        top = np.random.randint(h - ph + 1)
        left = np.random.randint(w - pw + 1)
        for key in self.keys:
            # copy: a view would keep the whole image alive and in-place
            # transforms (mmagic's Flip) would write into it.
            results[key] = results[key][top:top + ph, left:left + pw].copy()
        results['crop_bbox'] = [int(left), int(top), pw, ph]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(patch_size={self.patch_size}, '
                f'keys={self.keys})')
