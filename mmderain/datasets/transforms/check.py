# Copyright (c) mmderain contributors. All rights reserved.
"""Sanity checks of paired samples."""
from typing import Dict, Sequence, Tuple, Union

from mmcv.transforms import BaseTransform

from mmderain.registry import TRANSFORMS


def describe(results: dict, key: str) -> str:
    """Name the image of ``key`` in error messages (its file when known).

    Args:
        results (dict): The sample.
        key (str): Image key, e.g. ``'img'``.

    Returns:
        str: ``"'img' (path/to/file.png)"`` or ``"'img'"``.
    """
    path = results.get(f'{key}_path')
    return f'{key!r} ({path})' if path is not None else repr(key)


def check_paired_size(results: dict, keys: Sequence[str]) -> Tuple[int, int]:
    """Check that the images of ``keys`` share their height and width.

    Args:
        results (dict): The sample holding HW or HWC arrays under ``keys``.
        keys (Sequence[str]): Keys of the images to compare.

    Returns:
        tuple[int, int]: The common ``(h, w)``.

    Raises:
        KeyError: If an image is missing from ``results``.
        ValueError: If the sizes differ; names every file and its size.
    """
    sizes: Dict[str, Tuple[int, int]] = {}
    for key in keys:
        if key not in results:
            raise KeyError(f'Image {key!r} is missing from the sample; '
                           f'available keys: {sorted(results)}')
        sizes[key] = tuple(results[key].shape[:2])
    if len(set(sizes.values())) > 1:
        listed = ', '.join(f'{describe(results, k)} is {h}x{w}'
                           for k, (h, w) in sizes.items())
        raise ValueError(f'Paired images differ in size (HxW): {listed}')
    return sizes[keys[0]]


@TRANSFORMS.register_module()
class CheckPairedSize(BaseTransform):
    """Raise if the images of a pair differ in height or width.

    Put it after loading in pipelines that do not crop (test pipelines);
    ``PairedRandomCrop`` performs the same check.

    Required Keys:

    - [KEYS]
    - [KEY]_path (optional, used in the error message)

    Args:
        keys (str | Sequence[str]): Images to compare.
            Defaults to ``('img', 'gt')``.
    """

    def __init__(self, keys: Union[str, Sequence[str]] = ('img', 'gt')):
        self.keys = [keys] if isinstance(keys, str) else list(keys)

    def transform(self, results: dict) -> dict:
        """Check the sizes.

        Args:
            results (dict): The sample.

        Returns:
            dict: ``results``, unchanged.
        """
        check_paired_size(results, self.keys)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(keys={self.keys})'
