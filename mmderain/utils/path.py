# Copyright (c) mmderain contributors. All rights reserved.
"""File-name helpers shared by datasets and inference."""
import os.path as osp
import re
from typing import Sequence, Tuple

#: Image file extensions mmderain reads (compared case-insensitively).
IMG_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.ppm', '.tif', '.tiff',
                  '.webp')


def is_image_file(path: str) -> bool:
    """Whether ``path`` has an extension of :data:`IMG_EXTENSIONS`.

    Args:
        path (str): A file path.

    Returns:
        bool: True for image extensions, in any letter case.
    """
    return osp.splitext(path)[1].lower() in IMG_EXTENSIONS


def natural_sort_key(name: str) -> Tuple[list, str]:
    """Sort key ordering embedded numbers numerically.

    ``norain-2`` sorts before ``norain-10``. Letters compare
    case-insensitively; the raw name breaks ties so the order is total.

    Args:
        name (str): A file name, stem or path.

    Returns:
        tuple[list, str]: The key.
    """
    parts = re.split(r'(\d+)', name)
    return ([int(p) if i % 2 else p.lower()
             for i, p in enumerate(parts)], name)


def short_listing(names: Sequence,
                  limit: int = 10,
                  quote: bool = False) -> str:
    """The first ``limit`` names for an error message, plus how many more.

    Args:
        names (Sequence): Names (file names, keys, ...).
        limit (int): How many to show. Defaults to 10.
        quote (bool): Show ``repr`` of each name (e.g. for keys that may
            hold odd characters). Defaults to False.

    Returns:
        str: e.g. ``'a.png, b.png, ... (3 more)'``.
    """
    names = list(names)
    shown = ', '.join(repr(n) if quote else str(n) for n in names[:limit])
    more = len(names) - limit
    return shown + (f', ... ({more} more)' if more > 0 else '')
