# Copyright (c) mmderain contributors. All rights reserved.
"""Dataset where several rainy images share one clean image (DDN)."""
import re
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Union

from mmderain.registry import DATASETS
from mmderain.utils.path import natural_sort_key, short_listing
from .base_dataset import IMG_SUFFIXES, BaseDerainDataset
from .folder_utils import normalize_suffixes, scan_stems

#: Default rainy-stem pattern of DDN/Rain1400: ``N_k`` -> clean ``N``.
DDN_PATTERN = r'^(?P<stem>.+)_(\d+)$'


@DATASETS.register_module()
class ManyToOneDataset(BaseDerainDataset):
    """Rainy images rendered from a shared clean image (DDN/Rain1400).

    DDN (Fu et al., "Removing rain from single images via a deep detail
    network", CVPR 2017) renders 14 rain patterns on each clean image:
    ``rainy_image/N_k.jpg`` (``k = 1..14``) pairs with
    ``ground_truth/N.jpg``. The clean stem is the ``stem`` group of
    ``rain_pattern`` matched against the rainy stem; a pattern without a
    ``stem`` group uses its first group. One data info per rainy image:
    ``img_path``, ``gt_path`` and ``key`` (the rainy stem, unique). Infos
    are sorted naturally by the rainy stem (``1_2`` before ``1_10``).

    Args:
        rain_pattern (str): Regular expression matched (``re.match``, so
            anchor the end with ``$``) against each rainy stem; its group
            ``stem`` (or group 1) is the clean stem. Defaults to
            ``r'^(?P<stem>.+)_(\\d+)$'``.
        allow_unused_gt (bool): Accept clean images without a rainy
            partner. Defaults to False (they raise, like a missing one).
        img_suffix (str | Sequence[str]): Accepted extensions, with or
            without the dot, case-insensitive. Defaults to png, jpg, jpeg,
            bmp, tif and tiff.
        **kwargs: The shared arguments of :class:`BaseDerainDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ``test_mode``,
            ``backend``, ``lmdb_root``, ...); ``data_prefix`` defaults to
            ``dict(img='rainy_image', gt='ground_truth')``.

    Raises:
        ValueError: If a rainy stem does not match ``rain_pattern`` or its
            clean image is missing (the rainy files are listed), or a clean
            image is unused (unless ``allow_unused_gt``).
        FileNotFoundError: If a folder is missing or holds no image.

    Examples:
        >>> ddn = ManyToOneDataset(data_root='data/ddn_rain1400/testing')
        >>> len(ddn)  # 100 clean images x 14 rain patterns
        1400
    """

    METAINFO = dict(dataset_type='many_to_one_dataset', task_name='derain')

    DEFAULT_PREFIX = dict(img='rainy_image', gt='ground_truth')

    def __init__(self,
                 *,
                 rain_pattern: str = DDN_PATTERN,
                 allow_unused_gt: bool = False,
                 img_suffix: Union[str, Sequence[str]] = IMG_SUFFIXES,
                 **kwargs) -> None:
        try:
            self.rain_regex = re.compile(rain_pattern)
        except re.error as err:
            raise ValueError(
                f'Invalid rain_pattern {rain_pattern!r}: {err}') from err
        if ('stem' not in self.rain_regex.groupindex
                and self.rain_regex.groups < 1):
            raise ValueError(f'rain_pattern {rain_pattern!r} needs a group '
                             '(?P<stem>...) capturing the clean stem')
        self.rain_pattern = rain_pattern
        self.allow_unused_gt = allow_unused_gt
        self.img_suffix = normalize_suffixes(img_suffix)
        super().__init__(**kwargs)

    def _scan(self, folder: str) -> Dict[str, str]:
        """Map stem -> file name for the images of ``folder``."""
        return scan_stems(
            self.file_backend, folder, self.img_suffix,
            "Check data_root and data_prefix (DDN: "
            "dict(img='rainy_image', gt='ground_truth')).")

    def _clean_stem(self, rain_stem: str) -> Optional[str]:
        """The clean stem of a rainy stem, None if it does not match."""
        match = self.rain_regex.match(rain_stem)
        if match is None:
            return None
        if 'stem' in self.rain_regex.groupindex:
            return match.group('stem')
        return match.group(1)

    def load_disk_data_list(self) -> List[dict]:
        """Match every rainy image with its clean image.

        Returns:
            list[dict]: Data infos with ``img_path``, ``gt_path``, ``key``.
        """
        img_dir, gt_dir = self.data_prefix['img'], self.data_prefix['gt']
        rainy = self._scan(img_dir)
        clean = self._scan(gt_dir)
        order = sorted(rainy, key=natural_sort_key)

        unmatched, missing = [], defaultdict(list)
        pairs = []
        for stem in order:
            gt_stem = self._clean_stem(stem)
            if gt_stem is None:
                unmatched.append(rainy[stem])
            elif gt_stem not in clean:
                missing[gt_stem].append(rainy[stem])
            else:
                pairs.append((stem, gt_stem))
        msg = []
        if unmatched:
            msg.append(f'{len(unmatched)} rainy file(s) in {img_dir} do not '
                       f'match rain_pattern {self.rain_pattern!r}: '
                       f'{short_listing(unmatched)}.')
        if missing:
            affected = [f for files in missing.values() for f in files]
            wanted = [f'{s}.*' for s in sorted(missing, key=natural_sort_key)]
            msg.append(f'{len(affected)} rainy file(s) in {img_dir} have no '
                       f'clean image in {gt_dir}: {short_listing(affected)} '
                       f'(missing clean stems: {short_listing(wanted)}).')
        used = {g for _, g in pairs}
        unused = sorted((clean[s] for s in clean if s not in used),
                        key=natural_sort_key)
        if unused and not self.allow_unused_gt:
            msg.append(f'{len(unused)} clean file(s) in {gt_dir} have no '
                       f'rainy image in {img_dir}: {short_listing(unused)} '
                       '(allow_unused_gt=True accepts them).')
        if msg:
            raise ValueError(' '.join(msg))
        join = self.file_backend.join_path
        return [
            dict(
                img_path=join(img_dir, rainy[stem]),
                gt_path=join(gt_dir, clean[gt_stem]),
                key=stem) for stem, gt_stem in pairs
        ]
