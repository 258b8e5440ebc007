# Copyright (c) mmderain contributors. All rights reserved.
"""Resolution of user-given inputs (files, folders, glob patterns) to images.
"""
import glob
import os
import os.path as osp
import re
from typing import List, Sequence, Union

IMG_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.ppm', '.tif', '.tiff',
                  '.webp')

_GLOB_MAGIC = re.compile('[*?[]')


def is_image_file(path: str) -> bool:
    """Whether ``path`` has a common image file extension (case-insensitive).

    Args:
        path (str): A file path.

    Returns:
        bool: True for extensions in :data:`IMG_EXTENSIONS`.
    """
    return osp.splitext(path)[1].lower() in IMG_EXTENSIONS


def natural_sort_key(path: str) -> list:
    """Sort key that orders embedded numbers numerically.

    ``rain2.png`` sorts before ``rain10.png``.

    Args:
        path (str): A path or file name.

    Returns:
        list: Alternating lower-cased text and integer chunks.
    """
    return [
        int(chunk) if chunk.isdigit() else chunk.lower()
        for chunk in re.split(r'(\d+)', path)
    ]


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
