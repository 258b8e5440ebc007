# Copyright (c) mmderain contributors. All rights reserved.
"""Dataset of rainy/clean image pairs stored in two folders."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.fileio import list_from_file

from mmderain.registry import DATASETS
from mmderain.utils.path import natural_sort_key, short_listing
from .base_dataset import IMG_SUFFIXES, BaseDerainDataset
from .folder_utils import list_file_fields, normalize_suffixes, scan_stems

LAYOUTS = ('auto', 'same_name', 'template', 'rain200')
RAIN200_TMPL = '{}x2'


@DATASETS.register_module()
class PairedImageDataset(BaseDerainDataset):
    """Rainy/clean image pairs from two folders (or an annotation file).

    The rainy image of each pair is the network input ``img`` and the clean
    image is the target ``gt``, following mmagic's key naming. Supported
    folder layouts (``data_prefix`` names the two folders, relative to
    ``data_root``):

    - same names (``layout='same_name'``): ``rain/norain-1.png`` pairs with
      ``norain/norain-1.png`` (Rain100L/H), or ``input/x.png`` with
      ``target/x.png`` (Rain13K/Restormer style, use
      ``data_prefix=dict(img='input', gt='target')``).
    - a name template (``layout='template'`` with ``img_name_tmpl``): the
      rainy stem is ``img_name_tmpl.format(gt_stem)``; ``layout='rain200'``
      is the same with the default template ``'{}x2'``
      (``rain/X2/norain-1x2.png`` pairs with ``norain/norain-1.png``).
    - ``layout='auto'`` (default): uses ``img_name_tmpl`` when given;
      otherwise it tries ``'{}'`` and the templates implied by the first
      rainy names (e.g. ``'{}x2'``) and keeps the one that matches the most
      files.

    Files are matched by stem, so a pair may mix extensions. Pairs are
    sorted naturally by the clean stem (``norain-2`` before ``norain-10``).
    Every rainy and every clean file must be matched, otherwise a
    ``ValueError`` lists the unmatched names. Image sizes are not read here
    (that would decode headers of every file); ``PairedRandomCrop`` and
    ``CheckPairedSize`` verify them when the pair is loaded.

    With ``ann_file``, each non-empty line holds ``rain_rel_path
    gt_rel_path`` (paths relative to the ``img`` and ``gt`` folders; a line
    with one path uses it for both) and lines starting with ``#`` are
    comments. The listed order is kept and every file must exist.

    Each data info holds ``img_path``, ``gt_path`` and ``key`` (the clean
    stem, or the clean relative path without extension with ``ann_file``).

    Args:
        layout (str): One of ``'auto'``, ``'same_name'``, ``'template'``,
            ``'rain200'``. Defaults to ``'auto'``.
        img_name_tmpl (str, optional): Template mapping a clean stem to the
            rainy stem, e.g. ``'{}x2'``. Defaults to None.
        img_suffix (str | Sequence[str]): Accepted extensions, with or
            without the dot, case-insensitive. Defaults to png, jpg, jpeg,
            bmp, tif and tiff.
        **kwargs: The shared arguments of :class:`BaseDerainDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``ann_file``,
            ``test_mode``, ``backend``, ``lmdb_root``, ...);
            ``data_prefix`` defaults to ``dict(img='rain', gt='norain')``.

    Note:
        This builds on MMEngine's ``BaseDataset`` rather than mmagic's
        ``BasicImageDataset``: the latter neither checks that the partner
        file exists nor sorts, and matching/validation is the whole job here.

    Examples:
        >>> train = PairedImageDataset(
        ...     data_root='data/rain100l/train',
        ...     data_prefix=dict(img='rain', gt='norain'))
        >>> rain200 = PairedImageDataset(
        ...     data_root='data/rain200h/train',
        ...     data_prefix=dict(img='rain/X2', gt='norain'),
        ...     layout='rain200')  # or layout='auto'
    """

    METAINFO = dict(dataset_type='paired_image_dataset', task_name='derain')

    DEFAULT_PREFIX = dict(img='rain', gt='norain')

    def __init__(self,
                 *,
                 layout: str = 'auto',
                 img_name_tmpl: Optional[str] = None,
                 img_suffix: Union[str, Sequence[str]] = IMG_SUFFIXES,
                 **kwargs) -> None:
        if layout not in LAYOUTS:
            raise ValueError(
                f'layout must be one of {LAYOUTS}, got {layout!r}')
        if layout == 'rain200' and img_name_tmpl is None:
            img_name_tmpl = RAIN200_TMPL
        if layout == 'template' and img_name_tmpl is None:
            raise ValueError("layout='template' needs img_name_tmpl, "
                             "e.g. img_name_tmpl='{}x2'")
        if layout == 'same_name' and img_name_tmpl not in (None, '{}'):
            raise ValueError(f"layout='same_name' contradicts "
                             f'img_name_tmpl={img_name_tmpl!r}')
        if img_name_tmpl is not None and img_name_tmpl.count('{}') != 1:
            raise ValueError('img_name_tmpl must contain exactly one "{}", '
                             f'got {img_name_tmpl!r}')
        self.img_suffix = normalize_suffixes(img_suffix)
        self.layout = layout
        self.img_name_tmpl = img_name_tmpl
        super().__init__(**kwargs)

    # ------------------------------------------------------------ listing
    def load_disk_data_list(self) -> List[dict]:
        """Match rainy and clean files.

        Returns:
            list[dict]: Data infos with ``img_path``, ``gt_path``, ``key``.
        """
        if self.ann_file:
            return self._load_from_ann()
        img_dir, gt_dir = self.data_prefix['img'], self.data_prefix['gt']
        rainy = self._scan(img_dir)
        clean = self._scan(gt_dir)
        tmpl = self.img_name_tmpl
        if tmpl is None:
            tmpl = ('{}' if self.layout == 'same_name' else self._detect_tmpl(
                list(rainy), list(clean)))
        self.img_name_tmpl_used = tmpl

        wanted = {tmpl.format(stem): stem for stem in clean}
        unmatched_img = [rainy[s] for s in rainy if s not in wanted]
        unmatched_gt = [clean[g] for r, g in wanted.items() if r not in rainy]
        if unmatched_img or unmatched_gt:
            msg = [
                f'Unpaired images with rainy name template {tmpl!r} '
                f'(rainy folder {img_dir}, clean folder {gt_dir}).'
            ]
            if unmatched_img:
                names = sorted(unmatched_img, key=natural_sort_key)
                msg.append(f'{len(names)} rainy file(s) without a clean '
                           f'partner: {short_listing(names)}.')
            if unmatched_gt:
                names = sorted(unmatched_gt, key=natural_sort_key)
                msg.append(f'{len(names)} clean file(s) without a rainy '
                           f'partner: {short_listing(names)}.')
            raise ValueError(' '.join(msg))

        data_list = []
        for stem in sorted(clean, key=natural_sort_key):
            data_list.append(
                dict(
                    img_path=self._join(img_dir, rainy[tmpl.format(stem)]),
                    gt_path=self._join(gt_dir, clean[stem]),
                    key=stem))
        return data_list

    def _join(self, folder: str, name: str) -> str:
        """Join a folder and a file name with the file backend."""
        return self.file_backend.join_path(folder, name)

    def _scan(self, folder: str) -> Dict[str, str]:
        """Map stem -> file name for the images of ``folder``."""
        return scan_stems(
            self.file_backend, folder, self.img_suffix,
            "Check data_root and data_prefix (Rain100L: dict(img='rain', "
            "gt='norain'), Rain13K: dict(img='input', gt='target')).")

    @staticmethod
    def _detect_tmpl(rainy: List[str], clean: List[str]) -> str:
        """Pick the rainy-name template matching the most files.

        Candidates are ``'{}'`` and, for the first few rainy stems, every
        way of writing the stem as ``prefix + clean_stem + suffix``.
        """
        candidates = ['{}']
        for r in sorted(rainy, key=natural_sort_key)[:3]:
            for g in clean:
                start = r.find(g)
                while start >= 0:
                    tmpl = r[:start] + '{}' + r[start + len(g):]
                    if tmpl not in candidates:
                        candidates.append(tmpl)
                    start = r.find(g, start + 1)
        rainy_set = set(rainy)

        def score(tmpl: str) -> Tuple[int, int]:
            hits = sum(tmpl.format(g) in rainy_set for g in clean)
            return hits, -len(tmpl)

        return max(candidates, key=score)

    def _load_from_ann(self) -> List[dict]:
        """Read ``rain_rel_path gt_rel_path`` lines of ``ann_file``."""
        img_dir, gt_dir = self.data_prefix['img'], self.data_prefix['gt']
        data_list, missing = [], []
        lines = list_from_file(self.ann_file, backend_args=self.backend_args)
        for _, fields in list_file_fields(lines, self.ann_file, 2,
                                          '"rain_path gt_path"'):
            img_rel, gt_rel = fields[0], fields[-1]
            info = dict(
                img_path=self._join(img_dir, img_rel),
                gt_path=self._join(gt_dir, gt_rel),
                key=osp.splitext(gt_rel)[0])
            missing += [
                info[k] for k in ('img_path', 'gt_path')
                if not self.file_backend.isfile(info[k])
            ]
            data_list.append(info)
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed in {self.ann_file} do not '
                f'exist: {short_listing(missing)}')
        if not data_list:
            raise ValueError(f'Annotation file {self.ann_file} lists no pair')
        return data_list
