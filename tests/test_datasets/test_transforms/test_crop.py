# Copyright (c) mmderain contributors. All rights reserved.
import numpy as np
import pytest

from mmderain.datasets.transforms import (CheckPairedSize, PairedRandomCrop,
                                          crop_to_multiple)
from mmderain.registry import TRANSFORMS


def _pair(h=10, w=12, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return dict(
        img=img, gt=img.copy() // 2, img_path='r/a.png', gt_path='c/a.png')


@pytest.mark.parametrize('patch', [4, (3, 5), [10, 12]])
def test_crop_aligned(patch):
    crop = PairedRandomCrop(patch)
    ph, pw = (patch, patch) if isinstance(patch, int) else patch
    for seed in range(10):
        np.random.seed(seed)
        sample = _pair()
        src_img, src_gt = sample['img'], sample['gt']
        out = crop(sample)
        x, y, w, h = out['crop_bbox']
        assert (w, h) == (pw, ph)
        assert out['img'].shape == (ph, pw, 3) == out['gt'].shape
        np.testing.assert_array_equal(out['img'], src_img[y:y + h, x:x + w])
        np.testing.assert_array_equal(out['gt'], src_gt[y:y + h, x:x + w])
        assert out['img'].flags.c_contiguous
        assert not np.shares_memory(out['img'], src_img)


def test_crop_covers_all_offsets():
    crop = PairedRandomCrop((9, 11))
    np.random.seed(0)
    seen = {tuple(crop(_pair())['crop_bbox'][:2]) for _ in range(100)}
    assert seen == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_crop_gray_and_custom_keys():
    sample = dict(a=np.zeros((8, 8)), b=np.ones((8, 8, 1)))
    out = PairedRandomCrop(4, keys=['a', 'b'])(sample)
    assert out['a'].shape == (4, 4) and out['b'].shape == (4, 4, 1)


def test_crop_too_small_names_files():
    with pytest.raises(ValueError) as exc:
        PairedRandomCrop((8, 13))(_pair())
    msg = str(exc.value)
    assert '10x12' in msg and '8x13' in msg
    assert 'r/a.png' in msg and 'c/a.png' in msg


def test_crop_size_mismatch_names_files():
    sample = _pair()
    sample['gt'] = sample['gt'][:, :-1]
    with pytest.raises(ValueError) as exc:
        PairedRandomCrop(4)(sample)
    msg = str(exc.value)
    assert "'img' (r/a.png) is 10x12" in msg
    assert "'gt' (c/a.png) is 10x11" in msg


@pytest.mark.parametrize('patch', [0, -1, (4, ), (4, 0), 2.5])
def test_crop_bad_patch(patch):
    with pytest.raises(ValueError):
        PairedRandomCrop(patch)


def test_check_paired_size():
    check = CheckPairedSize()
    sample = _pair()
    assert check(sample) is sample
    sample['gt'] = np.zeros((9, 12, 3), np.uint8)
    with pytest.raises(ValueError, match='10x12.*9x12'):
        check(sample)
    with pytest.raises(KeyError, match='gt'):
        check(dict(img=np.zeros((2, 2))))


def test_registry_and_repr():
    crop = TRANSFORMS.build(dict(type='PairedRandomCrop', patch_size=4))
    assert isinstance(crop, PairedRandomCrop)
    assert repr(crop) == \
        "PairedRandomCrop(patch_size=(4, 4), keys=['img', 'gt'])"
    check = TRANSFORMS.build(dict(type='CheckPairedSize', keys='img'))
    assert repr(check) == "CheckPairedSize(keys=['img'])"


def test_crop_to_multiple():
    img = np.arange(321 * 481 * 3).reshape(321, 481, 3)
    crop = crop_to_multiple(img, 16)  # Rain2Avoid: 321x481 -> 320x480
    assert crop.shape == (320, 480, 3)
    np.testing.assert_array_equal(crop, img[:320, :480])  # top-left
    assert crop_to_multiple(img[:, :, 0], 7).shape == (315, 476)
    assert crop_to_multiple(img[:32, :48], 16).shape == (32, 48, 3)
    with pytest.raises(ValueError, match='12x40.*multiple 16'):
        crop_to_multiple(img[:12, :40], 16)
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match='positive int'):
            crop_to_multiple(img, bad)
    with pytest.raises(ValueError, match=r'got shape \(5,\)'):
        crop_to_multiple(np.zeros(5), 1)
