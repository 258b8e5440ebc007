# Copyright (c) mmderain contributors. All rights reserved.
import numpy as np
import pytest

from mmderain.datasets.transforms.side_by_side import SplitSideBySide
from mmderain.registry import TRANSFORMS


def _sample(w=16, order='rain_left', **extra):
    img = np.zeros((8, w, 3), np.uint8)
    img[:, :w // 2] = 10  # left half
    img[:, w // 2:] = 200  # right half
    results = dict(
        img=img,
        img_path='data/a.jpg',
        ori_img_shape=img.shape,
        img_channel_order='rgb',
        img_color_type='color',
        **extra)
    if order is not None:
        results['side_by_side'] = dict(order=order)
    return results


@pytest.mark.parametrize('order,rain,clean', [('rain_left', 10, 200),
                                              ('clean_left', 200, 10)])
def test_split(order, rain, clean):
    out = SplitSideBySide()(_sample(order=order))
    assert out['img'].shape == out['gt'].shape == (8, 8, 3)
    assert (out['img'] == rain).all() and (out['gt'] == clean).all()
    assert out['img'].flags['C_CONTIGUOUS'] and out['gt'].flags.owndata
    assert out['gt_path'] == out['img_path'] == 'data/a.jpg'
    assert out['ori_img_shape'] == out['ori_gt_shape'] == (8, 8, 3)
    assert out['gt_channel_order'] == 'rgb'
    assert out['gt_color_type'] == 'color'
    assert out['side_by_side'] == dict(order=order, ori_shape=(8, 16, 3))


def test_order_from_argument_and_conflict():
    out = SplitSideBySide(order='clean_left')(_sample(order=None))
    assert (out['img'] == 200).all()
    # the same order in both places is fine
    SplitSideBySide(order='rain_left')(_sample(order='rain_left'))
    with pytest.raises(ValueError, match='contradicts.*data/a.jpg'):
        SplitSideBySide(order='rain_left')(_sample(order='clean_left'))
    with pytest.raises(ValueError, match='No side-by-side order.*a.jpg'):
        SplitSideBySide()(_sample(order=None))
    with pytest.raises(ValueError, match='order must be one of'):
        SplitSideBySide(order='left')
    with pytest.raises(ValueError, match='data/a.jpg'):
        SplitSideBySide()(_sample(order='up'))


def test_gray_and_odd_width():
    gray = dict(
        img=np.arange(8 * 6).reshape(8, 6),
        img_path='g.png',
        side_by_side=dict(order='rain_left'))
    out = SplitSideBySide()(gray)
    assert out['img'].shape == out['gt'].shape == (8, 3)
    assert 'gt_channel_order' not in out
    with pytest.raises(ValueError, match=r'data/a.jpg has an odd width 15'):
        SplitSideBySide()(_sample(w=15))
    with pytest.raises(KeyError, match='LoadImageFromFile'):
        SplitSideBySide()(
            dict(img_path='x.png', side_by_side=dict(order='rain_left')))


def test_registry_and_repr():
    t = TRANSFORMS.build(dict(type='SplitSideBySide', order='rain_left'))
    assert isinstance(t, SplitSideBySide)
    assert repr(t) == "SplitSideBySide(order='rain_left')"
