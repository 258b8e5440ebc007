# Copyright (c) mmderain contributors. All rights reserved.
"""Dataset of rainy/clean pairs listed in an index file (SPA-Data)."""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.fileio import list_from_file

from mmderain.registry import DATASETS
from mmderain.utils.path import short_listing
from .base_dataset import BaseDerainDataset
from .folder_utils import list_file_fields

#: ``gt_rule`` deriving SPA-Data's clean path from a rainy path:
#: ``real_world/000/000-0/000-0_1-1.png`` ->
#: ``real_world_gt/000/000-0/000-0.png``.
SPA_GT_RULE = (r'^(.*?)real_world/(.+)_\d+-\d+(\.\w+)$',
               r'\1real_world_gt/\2\3')


@DATASETS.register_module()
class IndexFileDataset(BaseDerainDataset):
    """Rainy/clean pairs listed line by line in a text file.

    Made for SPA-Data (Wang et al., "Spatial Attentive Single-Image
    Deraining with a High Quality Real Rain Dataset", CVPR 2019), whose
    ``real_world.txt`` lists the 638,492 training pairs. Each non-empty
    line of ``ann_file`` is either

    - ``rainy_rel_path clean_rel_path`` (two columns, whitespace
      separated), or
    - ``rainy_rel_path`` alone; the clean path is then
      ``re.sub(gt_rule[0], gt_rule[1], rainy_rel_path)``, e.g. with
      :data:`SPA_GT_RULE`. A one-column line without ``gt_rule`` raises.

    Paths are relative to ``data_root`` joined with ``data_prefix['img']``
    / ``data_prefix['gt']``. A leading ``/`` or ``./`` is dropped (SPA's
    list writes ``/real_world/...``), so absolute paths are not supported.
    Paths must not contain spaces. Lines starting with ``#`` are comments.
    The listed order is kept. ``key`` is the rainy relative path without
    extension; a rainy path listed twice raises.

    With ``check_files=True`` (the default) every listed file is checked
    to exist when the dataset is built, and a ``FileNotFoundError`` lists
    the first missing ones with the index file and line numbers. That is
    one ``stat`` per file: about 1.3 million for SPA's full list, a few
    seconds on a local disk but slow on network storage, so the SPA
    training config sets ``check_files=False``; a missing file then fails
    when it is loaded (``LoadImageFromFile`` names it).

    Args:
        ann_file (str): The index file, relative to ``data_root`` unless
            absolute. Required.
        gt_rule (tuple[str, str], optional): ``(pattern, replacement)`` of
            ``re.sub`` deriving the clean path of one-column lines.
            Defaults to None.
        check_files (bool): Check that every listed file exists. Defaults
            to True.
        **kwargs: The shared arguments of :class:`BaseDerainDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``test_mode``,
            ``backend``, ``lmdb_root``, ...); ``data_prefix`` holds the
            folders prepended to the rainy (``img``) and clean (``gt``)
            paths and defaults to ``dict(img='', gt='')``.

    Raises:
        ValueError: For a malformed line, a duplicated rainy path, a rule
            that does not apply or an empty list (file and line named).
        FileNotFoundError: If the index file or (with ``check_files``) a
            listed image is missing.

    Examples:
        >>> spa = IndexFileDataset(
        ...     ann_file='real_world.txt', data_root='data/spa/train',
        ...     check_files=False)
    """

    METAINFO = dict(dataset_type='index_file_dataset', task_name='derain')

    DEFAULT_PREFIX = dict(img='', gt='')

    def __init__(self,
                 ann_file: str = '',
                 *,
                 gt_rule: Optional[Sequence[str]] = None,
                 check_files: bool = True,
                 **kwargs) -> None:
        if not ann_file:
            raise ValueError('IndexFileDataset needs ann_file, the list of '
                             '"rainy_path clean_path" lines')
        self.gt_rule: Optional[Tuple[re.Pattern, str]] = None
        if gt_rule is not None:
            if len(gt_rule) != 2:
                raise ValueError('gt_rule must be (pattern, replacement), '
                                 f'got {gt_rule!r}')
            try:
                self.gt_rule = (re.compile(gt_rule[0]), gt_rule[1])
            except re.error as err:
                raise ValueError(
                    f'Invalid gt_rule pattern {gt_rule[0]!r}: {err}') from err
        self.check_files = check_files
        super().__init__(ann_file=ann_file, **kwargs)

    @staticmethod
    def _backend_uri(data_root: Optional[str], data_prefix: Dict[str, str],
                     ann_file: str) -> str:
        """``data_root``, else the index file (see the base class)."""
        return data_root or ann_file

    @staticmethod
    def _clean(rel: str) -> str:
        """Drop a leading ``/`` or ``./`` of a listed path."""
        while rel.startswith('./'):
            rel = rel[2:]
        return rel.lstrip('/')

    def _join(self, folder: str, rel: str) -> str:
        """Join a folder and a relative path (or return ``rel``)."""
        if not folder:
            return rel
        return self.file_backend.join_path(folder, rel)

    def _gt_of(self, img_rel: str, where: str) -> str:
        """Derive the clean path of a one-column line."""
        if self.gt_rule is None:
            raise ValueError(
                f'{where}: one path only ({img_rel}) but no gt_rule to '
                'derive the clean path; write "rainy_path clean_path" or '
                'pass gt_rule=(pattern, replacement)')
        pattern, repl = self.gt_rule
        gt_rel, count = pattern.subn(repl, img_rel)
        if not count or gt_rel == img_rel:
            raise ValueError(f'{where}: gt_rule pattern {pattern.pattern!r} '
                             f'does not apply to {img_rel}')
        return gt_rel

    def load_disk_data_list(self) -> List[dict]:
        """Read the index file.

        Returns:
            list[dict]: Data infos with ``img_path``, ``gt_path``, ``key``.
        """
        img_dir, gt_dir = self.data_prefix['img'], self.data_prefix['gt']
        if not self.file_backend.isfile(self.ann_file):
            raise FileNotFoundError(f'Index file not found: {self.ann_file}')
        name = osp.basename(self.ann_file)
        data_list, missing = [], []
        seen: Dict[str, int] = {}
        lines = list_from_file(self.ann_file, backend_args=self.backend_args)
        for line_no, fields in list_file_fields(lines, self.ann_file, 2,
                                                '"rainy_path clean_path"'):
            where = f'{self.ann_file}:{line_no}'
            img_rel = self._clean(fields[0])
            gt_rel = (
                self._clean(fields[1]) if len(fields) == 2 else self._gt_of(
                    img_rel, where))
            key = osp.splitext(img_rel)[0]
            if key in seen:
                raise ValueError(f'{where}: rainy image {img_rel} is already '
                                 f'listed on line {seen[key]}')
            seen[key] = line_no
            info = dict(
                img_path=self._join(img_dir, img_rel),
                gt_path=self._join(gt_dir, gt_rel),
                key=key)
            if self.check_files:
                missing += [
                    f'{info[k]} ({name}:{line_no})'
                    for k in ('img_path', 'gt_path')
                    if not self.file_backend.isfile(info[k])
                ]
            data_list.append(info)
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed in {self.ann_file} do not '
                f'exist: {short_listing(missing)}')
        if not data_list:
            raise ValueError(f'Index file {self.ann_file} lists no pair')
        return data_list
