# Copyright (c) mmderain contributors. All rights reserved.
"""Dataset of side-by-side images (rainy and clean halves in one file)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

from mmderain.registry import DATASETS
from mmderain.utils.path import natural_sort_key, short_listing
from .base_dataset import IMG_SUFFIXES, BaseDerainDataset
from .folder_utils import list_images, normalize_suffixes
from .transforms.side_by_side import SIDE_BY_SIDE_ORDERS, check_order


@DATASETS.register_module()
class SideBySideDataset(BaseDerainDataset):
    """Images that hold the rainy and the clean view side by side.

    Rain800 (ID-CGAN, Zhang et al. 2017; 700 training and 100 ``test_syn``
    images) stores each pair as ``clean | rainy`` (``order='clean_left'``);
    DID-MDN (Zhang & Patel 2018; 12,000 training images in
    ``Rain_Heavy``/``Rain_Medium``/``Rain_Light`` and the 1,200 test
    images, "Rain1200") stores ``rainy | clean`` (``order='rain_left'``).
    Because published copies differ, ``order`` has no default: look at one
    file and pass it explicitly (the base configs do).

    Each data info holds ``img_path`` (the combined file), ``key`` (the
    path relative to the image folder, without extension) and
    ``side_by_side=dict(order=order)``. Load the file once with
    ``LoadImageFromFile(key='img')`` and split it with
    :class:`~mmderain.datasets.transforms.side_by_side.SplitSideBySide`,
    which adds ``gt``/``gt_path``. Files are sorted naturally
    (``2.jpg`` before ``10.jpg``); sizes are checked (even width) when a
    file is split.

    Args:
        order (str): ``'rain_left'`` or ``'clean_left'``: which half of the
            file is the rainy input. Required.
        recursive (bool): Also list images in sub-folders (DID-MDN
            training data). Defaults to False.
        img_suffix (str | Sequence[str]): Accepted extensions, with or
            without the dot, case-insensitive. Defaults to png, jpg, jpeg,
            bmp, tif and tiff.
        **kwargs: The shared arguments of :class:`BaseDerainDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``test_mode``,
            ``backend``, ``lmdb_root``, ...); ``data_prefix`` is
            ``dict(img=folder)``, the folder of the combined files relative
            to ``data_root``, and defaults to ``dict(img='')``.

    Raises:
        ValueError: If ``order`` is missing or invalid.
        FileNotFoundError: If the folder is missing or holds no image.

    Examples:
        >>> rain800 = SideBySideDataset(
        ...     order='clean_left', data_root='data/rain800/test_syn')
        >>> did_mdn = SideBySideDataset(
        ...     order='rain_left', data_root='data/did_mdn/train',
        ...     recursive=True)
    """

    METAINFO = dict(dataset_type='side_by_side_dataset', task_name='derain')

    PREFIX_KEYS = ('img', )
    DEFAULT_PREFIX = dict(img='')

    def __init__(self,
                 order: Optional[str] = None,
                 *,
                 recursive: bool = False,
                 img_suffix: Union[str, Sequence[str]] = IMG_SUFFIXES,
                 **kwargs) -> None:
        if order is None:
            raise ValueError(
                'SideBySideDataset needs order='
                f'{" or ".join(map(repr, SIDE_BY_SIDE_ORDERS))}: which half '
                'of each file is rainy (Rain800: clean_left, DID-MDN/'
                'Rain1200: rain_left; check one file of your copy)')
        check_order(order)
        self.order = order
        self.recursive = recursive
        self.img_suffix = normalize_suffixes(img_suffix)
        super().__init__(**kwargs)

    def lmdb_extra_info(self) -> dict:
        """The half order, which LMDB mode must keep with every sample."""
        return dict(side_by_side=dict(order=self.order))

    def load_disk_data_list(self) -> List[dict]:
        """List the combined files.

        Returns:
            list[dict]: Data infos with ``img_path``, ``key`` and
            ``side_by_side``.
        """
        folder = self.data_prefix['img'] or self.data_root or '.'
        names = list_images(self.file_backend, folder, self.img_suffix,
                            self.recursive, 'Side-by-side image')
        keys: Dict[str, str] = {}
        clashes = []
        for name in sorted(names, key=natural_sort_key):
            key = osp.splitext(name)[0].replace('\\', '/')
            if key in keys:
                clashes.append(f'{keys[key]} and {name}')
            keys[key] = name
        if clashes:
            raise ValueError(f'Files with the same stem in {folder}: '
                             f'{short_listing(clashes)}')
        return [
            dict(
                img_path=self.file_backend.join_path(folder, name),
                key=key,
                side_by_side=dict(order=self.order))
            for key, name in keys.items()
        ]
