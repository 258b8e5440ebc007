# Copyright (c) mmderain contributors. All rights reserved.
"""Split a side-by-side rainy|clean image into its two halves."""
from typing import Optional

from mmcv.transforms import BaseTransform

from mmderain.registry import TRANSFORMS

#: Valid values of the side-by-side ``order``.
SIDE_BY_SIDE_ORDERS = ('rain_left', 'clean_left')


def check_order(order: Optional[str], where: str = 'order') -> None:
    """Raise if ``order`` is not one of :data:`SIDE_BY_SIDE_ORDERS`.

    Args:
        order (str, optional): The order to check.
        where (str): Name of the argument, for the message.

    Raises:
        ValueError: If ``order`` is invalid.
    """
    if order not in SIDE_BY_SIDE_ORDERS:
        raise ValueError(f'{where} must be one of {SIDE_BY_SIDE_ORDERS} '
                         f"(which half of the file is rainy), got {order!r}")


@TRANSFORMS.register_module()
class SplitSideBySide(BaseTransform):
    """Split an image holding the rainy and clean views side by side.

    Rain800 (ID-CGAN) and DID-MDN (Rain1200) store each pair as one file
    of width ``2 * w``. Load it once with ``LoadImageFromFile(key='img')``
    and put this transform right after it: ``img`` becomes the rainy half
    and ``gt`` the clean half, with the metainfo keys mmagic's
    ``LoadImageFromFile(key='gt')`` would have set (``gt_path`` is the
    combined file, so errors of later transforms name it).

    The order comes from ``results['side_by_side']['order']`` (set by
    :class:`~mmderain.datasets.side_by_side_dataset.SideBySideDataset`),
    else from the ``order`` argument; if both are given they must agree.

    Required Keys:

    - img (HxWxC or HxW, W even)
    - img_path
    - side_by_side (optional): ``dict(order='rain_left' | 'clean_left')``
    - img_channel_order, img_color_type (optional, copied to ``gt_*``)

    Modified Keys:

    - img (the rainy half, a contiguous copy)
    - ori_img_shape (the shape of the half)

    Added Keys:

    - gt (the clean half, a contiguous copy)
    - gt_path (the combined file)
    - ori_gt_shape
    - gt_channel_order (when ``img_channel_order`` is present)
    - gt_color_type (when ``img_color_type`` is present)
    - side_by_side: ``dict(order=..., ori_shape=<shape of the file>)``

    Args:
        order (str, optional): ``'rain_left'`` or ``'clean_left'``, used
            when the sample has no ``side_by_side`` entry. Defaults to None.

    Raises:
        ValueError: At transform time, if the width is odd, the order is
            unknown or contradicts the sample's (the file is named).
    """

    def __init__(self, order: Optional[str] = None) -> None:
        if order is not None:
            check_order(order)
        self.order = order

    def _order(self, results: dict) -> str:
        """The order of this sample."""
        given = (results.get('side_by_side') or {}).get('order')
        path = results.get('img_path')
        if given is None and self.order is None:
            raise ValueError(
                f'No side-by-side order for {path}: use SideBySideDataset '
                "or SplitSideBySide(order='rain_left'|'clean_left')")
        if given is not None:
            check_order(given, f"side_by_side['order'] of {path}")
            if self.order is not None and given != self.order:
                raise ValueError(
                    f'SplitSideBySide(order={self.order!r}) contradicts the '
                    f'order {given!r} of the sample {path}')
            return given
        return self.order

    def transform(self, results: dict) -> dict:
        """Split ``img`` into ``img`` (rainy) and ``gt`` (clean).

        Args:
            results (dict): The sample, with the combined image in ``img``.

        Returns:
            dict: The sample with both halves.
        """
        order = self._order(results)
        path = results.get('img_path')
        if 'img' not in results:
            raise KeyError(f'SplitSideBySide needs the loaded image "img" '
                           f'({path}); put LoadImageFromFile before it')
        img = results['img']
        h, w = img.shape[:2]
        if w % 2:
            raise ValueError(f'Side-by-side image {path} has an odd width '
                             f'{w} (HxW {h}x{w}); cannot split it in two '
                             'equal halves')
        left, right = img[:, :w // 2].copy(), img[:, w // 2:].copy()
        if order == 'rain_left':
            rain, clean = left, right
        else:
            rain, clean = right, left
        results['img'] = rain
        results['gt'] = clean
        results['gt_path'] = path
        results['ori_img_shape'] = rain.shape
        results['ori_gt_shape'] = clean.shape
        for suffix in ('channel_order', 'color_type'):
            if f'img_{suffix}' in results:
                results[f'gt_{suffix}'] = results[f'img_{suffix}']
        results['side_by_side'] = dict(order=order, ori_shape=img.shape)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(order={self.order!r})'
