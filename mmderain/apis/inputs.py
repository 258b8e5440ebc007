# Copyright (c) mmderain contributors. All rights reserved.
"""Resolution of user-given inputs (files, folders, glob patterns) to images.
"""
import glob
import os
import os.path as osp
import re
from typing import List, Sequence, Union

from mmderain.utils.path import IMG_EXTENSIONS, is_image_file, natural_sort_key

_GLOB_MAGIC = re.compile('[*?[]')


def _resolve_one(item: str) -> List[str]:
    """Resolve a single file, folder or glob pattern to image paths."""
    if osp.isfile(item):
        return [item]
    if osp.isdir(item):
        files = [
            osp.join(item, name) for name in os.listdir(item)
            if is_image_file(name) and osp.isfile(osp.join(item, name))
        ]
        if not files:
            raise FileNotFoundError(
                f'No image files ({", ".join(IMG_EXTENSIONS)}) found in '
                f'directory: {item}')
        return sorted(files, key=natural_sort_key)
    if _GLOB_MAGIC.search(item):
        files = [
            path for path in glob.glob(item, recursive=True)
            if osp.isfile(path) and is_image_file(path)
        ]
        if not files:
            raise FileNotFoundError(
                f'No image files matched the pattern: {item}')
        return sorted(files, key=natural_sort_key)
    raise FileNotFoundError(f'Input file or directory not found: {item}')


def collect_image_files(inputs: Union[str, Sequence[str]]) -> List[str]:
    """Expand inputs to an ordered list of image file paths.

    Each input may be an image file (taken whatever its extension), a
    directory (its image files, not recursive, naturally sorted) or a glob
    pattern (``**`` allowed; matching image files, naturally sorted). Order
    between inputs is preserved and duplicates are dropped.

    Args:
        inputs (str | Sequence[str]): One input or a list of inputs.

    Returns:
        list[str]: Image file paths.

    Raises:
        FileNotFoundError: If an input does not exist or matches no image;
            the message names that input.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    files: List[str] = []
    seen = set()
    for item in inputs:
        for path in _resolve_one(os.fspath(item)):
            key = osp.abspath(path)
            if key not in seen:
                seen.add(key)
                files.append(path)
    if not files:
        raise FileNotFoundError('No input images were given.')
    return files
