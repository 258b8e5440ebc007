# Copyright (c) mmderain contributors. All rights reserved.
"""Rainy images with their stochastic derained references (Rain2Avoid)."""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import mmcv
from mmengine.logging import print_log

from mmderain.registry import DATASETS
from .folder_utils import scan_stems
from .unpaired_image_dataset import UnpairedImageDataset


@DATASETS.register_module()
class SDRDataset(UnpairedImageDataset):
    """Rainy images and their Rain2Avoid references, no clean data needed.

    Rain2Avoid's self-supervised learning (SDRL) maps a rainy image to its
    stochastic derained references (SDRs), made by the NSS op from the
    image and its LDGP rain mask (``tools/rain2avoid/ldgp.py``,
    ``tools/rain2avoid/nss.py``). The folders, relative to ``data_root``
    (the layout ``tools/rain2avoid/nss.py`` writes)::

        <img>/<name>                 rainy images (data_prefix['img'])
        <sdr_dir>/<stem>/<k>.png     references k = 0 .. num_sdrs - 1
        <ldgp_dir>/<stem>.png        LDGP masks (for SDRs made on the fly)
        <gt_dir>/<stem>.<ext>        clean images (metrics only, optional)

    Each data info holds ``img_path``, ``key`` (the stem), and as the
    folders are given ``sdr_paths`` (the ``num_sdrs`` references in the
    order k = 0, 1, 2, ...), ``ldgp_path`` and ``gt_path``. The clean
    image never enters training; it only gives metrics.

    An image whose references or mask are missing (or, with
    ``verify_images``, unreadable or of another size) cannot be processed. It
    is not silently dropped: it is logged by name with the reason when the
    dataset is scanned and kept in :attr:`failures`, which the training
    loops report in their summary (and make the exit status non-zero).
    An image without a clean counterpart is only logged: it gets no
    metrics.

    Args:
        sdr_dir (str, optional): Folder of the SDR sub-folders. Defaults to
            None (no stored SDRs, e.g. made on the fly from ``ldgp_dir``).
        ldgp_dir (str, optional): Folder of the LDGP masks. Defaults to
            None.
        gt_dir (str, optional): Folder of the clean images. Defaults to
            None.
        num_sdrs (int): References per image. Defaults to 50.
        sdr_suffix (str): Extension of the reference files. Defaults to
            ``'.png'``.
        verify_images (bool): Also decode every file of every sample when
            the dataset is scanned (rainy image, references, mask; ~3 ms a
            320x480 PNG), so that an unreadable file or one of another size
            fails its image here instead of stopping a long run. Defaults
            to False.
        **kwargs: Arguments of :class:`UnpairedImageDataset`
            (``data_root``, ``data_prefix=dict(img=...)``, ``pipeline``,
            ``ann_file``, ``img_suffix``, ``test_mode``, ...). Only the
            ``'disk'`` backend is supported.

    Raises:
        ValueError: If neither ``sdr_dir`` nor ``ldgp_dir`` is given, if
            ``num_sdrs < 1`` or if ``backend`` is not ``'disk'``.
        FileNotFoundError: If a given folder is missing (named), or no
            image can be processed.
    """

    METAINFO = dict(dataset_type='sdr_dataset', task_name='derain')

    def __init__(self,
                 *,
                 sdr_dir: Optional[str] = None,
                 ldgp_dir: Optional[str] = None,
                 gt_dir: Optional[str] = None,
                 num_sdrs: int = 50,
                 sdr_suffix: str = '.png',
                 verify_images: bool = False,
                 **kwargs) -> None:
        if sdr_dir is None and ldgp_dir is None:
            raise ValueError(
                'SDRDataset needs sdr_dir (stored references) or ldgp_dir '
                '(references made on the fly from the LDGP masks)')
        if num_sdrs < 1:
            raise ValueError(f'num_sdrs must be >= 1, got {num_sdrs}')
        if kwargs.get('backend', 'disk') != 'disk':
            raise ValueError('SDRDataset reads folders: backend must be '
                             f"'disk', got {kwargs['backend']!r}")
        self.sdr_dir, self.ldgp_dir, self.gt_dir = sdr_dir, ldgp_dir, gt_dir
        self.num_sdrs = num_sdrs
        self.sdr_suffix = sdr_suffix
        self.verify_images = verify_images
        #: (image key, reason) of the images that cannot be processed.
        self.failures: List[Tuple[str, str]] = []
        super().__init__(**kwargs)

    def _abs(self, folder: Optional[str]) -> Optional[str]:
        if folder is None or osp.isabs(folder) or not self.data_root:
            return folder
        return self.file_backend.join_path(self.data_root, folder)

    def load_disk_data_list(self) -> List[dict]:
        """List the images and attach their references, mask and target.

        Returns:
            list[dict]: Data infos of the images that can be processed.
        """
        infos = super().load_disk_data_list()
        sdr_dir, ldgp_dir = self._abs(self.sdr_dir), self._abs(self.ldgp_dir)
        for folder, what in ((sdr_dir, 'sdr_dir'), (ldgp_dir, 'ldgp_dir')):
            if folder is not None and not self.file_backend.isdir(folder):
                raise FileNotFoundError(
                    f'{what} not found: {folder}. Make it with '
                    'tools/rain2avoid/' +
                    ('nss.py' if what == 'sdr_dir' else 'ldgp.py'))
        gt_names = self._gt_names()
        self.failures = []
        kept, no_gt = [], []
        for info in infos:
            reason = self._attach(info, sdr_dir, ldgp_dir, gt_names)
            if reason is not None:
                self.failures.append((info['key'], reason))
                print_log(
                    f'SDRDataset: skipping {info["img_path"]}: {reason}',
                    logger='current',
                    level=30)
                continue
            if gt_names is not None and 'gt_path' not in info:
                no_gt.append(info['key'])
            kept.append(info)
        if no_gt:
            print_log(
                f'SDRDataset: {len(no_gt)} image(s) without a clean image in '
                f'{self.gt_dir} (no metrics for them): '
                f'{", ".join(no_gt[:10])}',
                logger='current',
                level=30)
        if not kept:
            raise FileNotFoundError(
                f'SDRDataset: no image of {self._folder()} can be processed; '
                f'first failure: {self.failures[0][0]}: '
                f'{self.failures[0][1]}')
        return kept

    def _gt_names(self) -> Optional[Dict[str, str]]:
        """Clean image file names by stem (None without ``gt_dir``)."""
        if self.gt_dir is None:
            return None
        folder = self._abs(self.gt_dir)
        return {
            stem: self.file_backend.join_path(folder, name)
            for stem, name in
            scan_stems(self.file_backend, folder, self.img_suffix,
                       'Check data_root and gt_dir.').items()
        }

    def _attach(self, info: dict, sdr_dir: Optional[str],
                ldgp_dir: Optional[str],
                gt_names: Optional[Dict[str, str]]) -> Optional[str]:
        """Add the paths of one image; the reason it fails, or None."""
        join, isfile = self.file_backend.join_path, self.file_backend.isfile
        key = info['key']
        if sdr_dir is not None:
            paths = [
                join(sdr_dir, key, f'{k}{self.sdr_suffix}')
                for k in range(self.num_sdrs)
            ]
            missing = [p for p in paths if not isfile(p)]
            if missing:
                return (f'{len(missing)} of its {self.num_sdrs} SDRs are '
                        f'missing, e.g. {missing[0]}')
            info['sdr_paths'] = paths
        if ldgp_dir is not None:
            path = join(ldgp_dir, f'{key}.png')
            if not isfile(path):
                return f'LDGP mask missing: {path}'
            info['ldgp_path'] = path
        if gt_names is not None and key in gt_names:
            info['gt_path'] = gt_names[key]
        if self.verify_images:
            return self._verify(info)
        return None

    def _verify(self, info: dict) -> Optional[str]:
        """Decode every file of a sample; the reason it fails, or None."""
        paths = [info['img_path'], *info.get('sdr_paths', [])]
        if 'ldgp_path' in info:
            paths.append(info['ldgp_path'])
        size = None
        for path in paths:
            try:
                img = mmcv.imfrombytes(self.file_backend.get(path))
            except Exception:  # noqa: B902 - decoders raise assorted types
                img = None
            if img is None:
                return f'cannot read {path} (unreadable or not an image)'
            if size is None:
                size = img.shape[:2]
            elif img.shape[:2] != size:
                return (f'{path} is {img.shape[1]}x{img.shape[0]}, the rainy '
                        f'image is {size[1]}x{size[0]}')
        return None
