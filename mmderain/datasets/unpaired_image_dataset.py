# Copyright (c) mmderain contributors. All rights reserved.
"""Dataset of rainy images without ground truth (real rainy photos)."""
import os.path as osp
from typing import List, Sequence, Union

from mmengine.fileio import list_from_file

from mmderain.registry import DATASETS
from mmderain.utils.path import natural_sort_key
from .base_dataset import IMG_SUFFIXES, BaseDerainDataset
from .folder_utils import list_file_fields, list_images, normalize_suffixes

_MAX_LISTED = 10


@DATASETS.register_module()
class UnpairedImageDataset(BaseDerainDataset):
    """Rainy images of one folder, without clean targets.

    For real rainy photos (e.g. the 147 internet images of SSID-KD or
    Rain2Avoid's real sets), used by semi-/self-supervised training and
    for visual inference. The image is the network input ``img``; there
    is no ``gt``, so reference metrics (PSNR/SSIM) cannot be computed.

    Files whose extension is in ``img_suffix`` (case-insensitive) are
    listed in natural order of their path relative to the folder
    (``2.jpg`` before ``10.jpg``), optionally recursively. With
    ``ann_file``, each non-empty line holds one path relative to the
    folder (lines starting with ``#`` are comments); the listed order is
    kept and every file must exist.

    Each data info holds ``img_path`` and ``key`` (the relative path
    without extension, ``/``-separated).

    Args:
        recursive (bool): Also list images of sub-folders. Defaults to
            False.
        img_suffix (str | Sequence[str]): Accepted extensions, with or
            without the dot. Defaults to those of
            :data:`mmderain.utils.path.IMG_EXTENSIONS`.
        **kwargs: The shared arguments of :class:`BaseDerainDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``ann_file``,
            ``test_mode``, ``backend``, ``lmdb_root``, ...);
            ``data_prefix`` is the folder of the images, key ``img``,
            relative to ``data_root``, and defaults to ``dict(img='')``.

    Raises:
        FileNotFoundError: If the folder is missing, holds no image, or a
            file of ``ann_file`` does not exist (named in the message).

    Examples:
        >>> real = UnpairedImageDataset(data_root='data/real_internet')
        >>> real[0]['img_path']  # without a pipeline: the data info
        'data/real_internet/1.jpg'
    """

    METAINFO = dict(dataset_type='unpaired_image_dataset', task_name='derain')

    PREFIX_KEYS = ('img', )
    DEFAULT_PREFIX = dict(img='')

    def __init__(self,
                 *,
                 recursive: bool = False,
                 img_suffix: Union[str, Sequence[str]] = IMG_SUFFIXES,
                 **kwargs) -> None:
        self.img_suffix = normalize_suffixes(img_suffix)
        self.recursive = recursive
        super().__init__(**kwargs)

    def _folder(self) -> str:
        """The image folder (``data_root`` joined with ``data_prefix``)."""
        return self.data_prefix['img'] or self.data_root or '.'

    def load_disk_data_list(self) -> List[dict]:
        """List the images.

        Returns:
            list[dict]: Data infos with ``img_path`` and ``key``.
        """
        folder = self._folder()
        if self.ann_file:
            return self._load_from_ann(folder)
        names = list_images(self.file_backend, folder, self.img_suffix,
                            self.recursive, 'Image')
        return [
            self._info(folder, name)
            for name in sorted(names, key=natural_sort_key)
        ]

    def _info(self, folder: str, rel_path: str) -> dict:
        """Data info of one image given by its path relative to folder."""
        rel_path = rel_path.replace('\\', '/')
        return dict(
            img_path=self.file_backend.join_path(folder, rel_path),
            key=osp.splitext(rel_path)[0])

    def _load_from_ann(self, folder: str) -> List[dict]:
        """Read the relative image paths of ``ann_file``."""
        data_list, missing = [], []
        lines = list_from_file(self.ann_file, backend_args=self.backend_args)
        for _, fields in list_file_fields(lines, self.ann_file, 1,
                                          'one image path'):
            info = self._info(folder, fields[0])
            if not self.file_backend.isfile(info['img_path']):
                missing.append(info['img_path'])
            data_list.append(info)
        if missing:
            shown = ', '.join(missing[:_MAX_LISTED])
            more = len(missing) - _MAX_LISTED
            shown += f', ... ({more} more)' if more > 0 else ''
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed in {self.ann_file} do not '
                f'exist: {shown}')
        if not data_list:
            raise ValueError(f'Annotation file {self.ann_file} lists no image')
        return data_list
