# Copyright (c) mmderain contributors. All rights reserved.
"""Folder scanning and list files shared by the file-based datasets."""
import os.path as osp
from typing import Dict, Iterable, Iterator, List, Sequence, Tuple, Union

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


def list_images(file_backend: BaseStorageBackend,
                folder: str,
                img_suffix: Tuple[str],
                recursive: bool,
                what: str = 'Image') -> List[str]:
    """The image files of ``folder`` (relative names, unsorted).

    Args:
        file_backend (BaseStorageBackend): Backend of the dataset.
        folder (str): Folder to list.
        img_suffix (tuple[str]): Accepted lower-case extensions.
        recursive (bool): Also list sub-folders.
        what (str): What the folder holds, for the error message.

    Returns:
        list[str]: File names relative to ``folder``.

    Raises:
        FileNotFoundError: If the folder is missing or holds no image.
    """
    if not file_backend.isdir(folder):
        raise FileNotFoundError(f'{what} folder not found: {folder}. Check '
                                'data_root and data_prefix.')
    names = [
        name for name in file_backend.list_dir_or_file(
            folder, list_dir=False, recursive=recursive)
        if osp.splitext(name)[1].lower() in img_suffix
    ]
    if not names:
        raise FileNotFoundError(
            f'No image with suffix {img_suffix} found in {folder}' +
            ('' if recursive else ' (recursive=False)'))
    return names


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


def list_file_fields(lines: Iterable[str], where: str, max_fields: int,
                     expected: str) -> Iterator[Tuple[int, List[str]]]:
    """The fields of each line of a list file (annotation, index, pairs).

    Blank lines and lines starting with ``#`` are skipped.

    Args:
        lines (Iterable[str]): The lines of the file.
        where (str): The file, named in errors.
        max_fields (int): Most fields a line may hold.
        expected (str): What a line holds, for the error message, e.g.
            ``'"rain_path gt_path"'``.

    Yields:
        tuple[int, list[str]]: The line number (from 1) and the fields.

    Raises:
        ValueError: If a line holds more than ``max_fields`` fields (the
            file and line are named).
    """
    for line_no, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith('#'):
            continue
        if len(fields) > max_fields:
            raise ValueError(f'{where}:{line_no}: expected {expected}, got '
                             f'{line.strip()!r}')
        yield line_no, fields
