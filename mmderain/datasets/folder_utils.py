# Copyright (c) mmderain contributors. All rights reserved.
"""Folder scanning shared by the file-based datasets."""
import os.path as osp
from typing import Dict, Sequence, Tuple, Union

from mmengine.fileio.backends import BaseStorageBackend


def normalize_suffixes(img_suffix: Union[str, Sequence[str]]) -> Tuple[str]:
    """Normalise extensions: ``['PNG', '.jpg']`` -> ``('.png', '.jpg')``.

    Args:
        img_suffix (str | Sequence[str]): Extensions, with or without the
            dot, any case.

    Returns:
        tuple[str]: Lower-case extensions with the dot.
    """
    if isinstance(img_suffix, str):
        img_suffix = (img_suffix, )
    return tuple('.' + s.lower().lstrip('.') for s in img_suffix)


def scan_stems(file_backend: BaseStorageBackend, folder: str,
               img_suffix: Tuple[str], hint: str) -> Dict[str, str]:
    """Map file stem -> file name for the images directly in ``folder``.

    Args:
        file_backend (BaseStorageBackend): Backend to list with.
        folder (str): The folder.
        img_suffix (tuple[str]): Accepted extensions (see
            :func:`normalize_suffixes`).
        hint (str): Appended to the missing-folder error, e.g. the expected
            ``data_prefix`` of the dataset.

    Returns:
        dict[str, str]: Stem to file name.

    Raises:
        FileNotFoundError: If the folder is missing or has no image.
        ValueError: If two images share a stem (e.g. ``a.png``, ``a.jpg``).
    """
    if not file_backend.isdir(folder):
        raise FileNotFoundError(f'Image folder not found: {folder}. {hint}')
    stems: Dict[str, str] = {}
    for name in file_backend.list_dir_or_file(
            folder, list_dir=False, recursive=False):
        stem, ext = osp.splitext(name)
        if ext.lower() not in img_suffix:
            continue
        if stem in stems:
            raise ValueError(f'Ambiguous pairing in {folder}: {stems[stem]} '
                             f'and {name} have the same stem.')
        stems[stem] = name
    if not stems:
        raise FileNotFoundError(
            f'No image with suffix {img_suffix} found in {folder}')
    return stems
