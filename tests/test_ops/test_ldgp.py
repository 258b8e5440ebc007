# Copyright (c) mmderain contributors. All rights reserved.
"""LDGP (Rain2Avoid's rain masks): the 100 official Rain100L masks bit for
bit (with MMDERAIN_DATA), a plain per-patch port of the official histogram,
and synthetic streaks whose angle and pixels are known."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmderain.datasets.transforms import crop_to_multiple
from mmderain.ops import dominant_angle, ldgp, patch_angles, rotate_bound
from mmderain.ops.ldgp import most_frequent, patch_histograms, rotation_angle


def streaks(height, width, angle, spacing=12.0, sigma=1.0):
    """Grey (60) image with bright Gaussian lines (peak 200), BGR.

    ``angle``: the lines' normal (their gradient) in image coordinates (y
    down), degrees. Returns the image and the masks of the line pixels
    (within 1 px of a line centre) and of the background (3 px or more
    away).
    """
    y, x = np.mgrid[:height, :width].astype(float)
    t = np.radians(angle)
    across = x * np.cos(t) + y * np.sin(t)
    dist = np.abs((across + spacing / 2) % spacing - spacing / 2)
    grey = np.round(60 + 140 * np.exp(-dist**2 / (2 * sigma**2)))
    img = np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    return img, dist <= 1, dist >= 3


def official_patch_histogram(patch_bgr):
    """The official ``hog()`` histogram of one patch, written plainly: a
    fresh ``HOGDescriptor``, Python loops over blocks, cells and bins in
    the official order (float64 sums of the float32 descriptor)."""
    gray = cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2GRAY)
    cells_x, cells_y = gray.shape[1] // 8, gray.shape[0] // 8
    hog = cv2.HOGDescriptor((cells_x * 8, cells_y * 8), (32, 32), (8, 8),
                            (8, 8), 36)
    desc = hog.compute(gray)
    blocks_x, blocks_y = cells_x - 3, cells_y - 3
    ave = [[[0.0] * 36 for _ in range(cells_x)] for _ in range(cells_y)]
    count = [[0] * cells_x for _ in range(cells_y)]
    for i in range(4):
        for j in range(4):
            for by in range(blocks_y):
                for bx in range(blocks_x):
                    # descriptor laid out (bx, by, i, j, bin), as the
                    # official reshape reads it
                    base = (((bx * blocks_y + by) * 4 + i) * 4 + j) * 36
                    cell = ave[by + i][bx + j]
                    for b in range(36):
                        cell[b] += float(desc[base + b])
                    count[by + i][bx + j] += 1
    sums = [0.0] * 36
    for b in range(36):
        for row in range(cells_y):
            for col in range(cells_x):
                sums[b] += ave[row][col][b] / count[row][col]
    return sums


@pytest.mark.parametrize('patch_size', [80, 36])
def test_patch_histograms_equal_the_plain_official_port(patch_size):
    rng = np.random.default_rng(0)
    img, _, _ = streaks(2 * patch_size + 5, 3 * patch_size + 7, 160)
    img = np.clip(img + rng.integers(0, 40, img.shape), 0,
                  255).astype(np.uint8)
    hist = patch_histograms(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), patch_size)
    assert hist.shape == (3, 2, 36)
    p = patch_size
    for x in range(3):
        for y in range(2):
            ref = official_patch_histogram(img[p * y:p * (y + 1),
                                               p * x:p * (x + 1)])
            # bit-exact: the same float64 additions in the same order
            assert hist[x, y].tolist() == ref, (x, y)


@pytest.mark.parametrize('angle', [0, 10, 20, 30, 40, 130, 160])
def test_streak_angle_and_mask(angle):
    img, on_line, background = streaks(160, 240, angle)
    found = dominant_angle(img)
    # 5-degree bins: the bin holding the angle or its neighbour
    assert min(abs(found - angle), 180 - abs(found - angle)) <= 5, found
    mask = ldgp(img)
    assert mask.shape == (160, 240) and mask.dtype == np.uint8
    assert (mask[on_line] > 0).mean() > 0.95
    assert (mask[background] > 0).mean() < 0.02
    if rotation_angle(found) == 0:  # no rotation: a binary mask
        assert set(np.unique(mask)) == {0, 255}


def test_horizontal_streaks_are_not_rain():
    """Vertical gradients (85/90 degrees) mean no rotation, and the
    vertical opening removes horizontal lines."""
    img, on_line, _ = streaks(160, 240, 90)
    assert dominant_angle(img) in (85, 90)
    assert (ldgp(img)[on_line] > 0).mean() < 0.05


def test_kernel_size_is_the_shortest_run_kept():
    img = np.full((80, 80, 3), 50, np.uint8)
    img[10:19, 20] = 255  # 9 pixels tall
    img[30:40, 40] = 255  # 10 pixels tall
    mask = ldgp(img, kernel_size=10)
    assert not mask[:, 20].any()
    # OpenCV anchors the even 1x10 rectangle at row 5: erode and dilate
    # both look 5 rows up and 4 down, so the kept run moves down one row
    np.testing.assert_array_equal(
        np.nonzero(mask[:, 40])[0], np.arange(31, 41))
    assert np.count_nonzero(mask) == 10
    mask = ldgp(img, kernel_size=9)  # odd: both runs kept in place
    np.testing.assert_array_equal(
        np.nonzero(mask[:, 20])[0], np.arange(10, 19))
    np.testing.assert_array_equal(
        np.nonzero(mask[:, 40])[0], np.arange(30, 40))
    assert np.count_nonzero(mask) == 19


def test_patch_order_is_column_by_column():
    # 2 rows x 3 columns of 80-px patches with different streak angles
    angles = [[0, 20, 40], [135, 160, 30]]
    img = np.concatenate([
        np.concatenate([streaks(80, 80, a)[0] for a in row], axis=1)
        for row in angles
    ])
    found = patch_angles(img)
    expected = [angles[y][x] for x in range(3) for y in range(2)]
    assert len(found) == 6
    for f, e in zip(found, expected):
        assert min(abs(f - e), 180 - abs(f - e)) <= 5, (found, expected)


def test_ties_follow_the_official_set_order():
    # max(set(L), key=L.count) picks the first of set(L): not the smallest
    assert list(set([5, 10])) == [10, 5]
    assert most_frequent([5, 5, 10, 10]) == 10
    assert most_frequent([0, 5, 5, 10, 10]) == 10
    assert most_frequent([175, 0, 0, 175]) == 0
    assert most_frequent([15, 150, 150]) == 150


def test_rotation_angle_remap():
    angles = (0, 5, 80, 85, 90, 95, 175)
    assert [rotation_angle(a) for a in angles] == [0, 5, 80, 0, 0, -85, -5]


@pytest.mark.parametrize('size', [(320, 480), (480, 320), (81, 97),
                                  (37, 1000)])
def test_rotating_there_and_back_gives_the_image(size):
    from mmderain.ops.ldgp import _crop_offsets
    h, w = size
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(
        rng.integers(0, 256, size).astype(np.uint8), (0, 0), 3)
    for angle in range(0, 180, 5):
        theta = rotation_angle(angle)
        back = rotate_bound(rotate_bound(img, theta), -theta)
        top, left = _crop_offsets(h, w, theta)
        crop = back[top:top + h, left:left + w]
        assert crop.shape == (h, w), angle
        inner = np.abs(crop[3:-3, 3:-3].astype(int) - img[3:-3, 3:-3])
        assert np.median(inner) <= 1, angle


def test_input_validation():
    img = np.zeros((80, 96, 3), np.uint8)
    with pytest.raises(ValueError, match='dtype uint8'):
        ldgp(img.astype(np.float32))
    with pytest.raises(ValueError, match=r'shape \(H, W, 3\).*\(80, 96\)'):
        ldgp(img[..., 0])
    with pytest.raises(ValueError, match=r'\(80, 96, 4\)'):
        ldgp(np.zeros((80, 96, 4), np.uint8))
    with pytest.raises(ValueError, match='numpy array'):
        ldgp(img.tolist())
    with pytest.raises(ValueError, match='80x80 patch.*79x96'):
        ldgp(img[:79])
    with pytest.raises(ValueError, match='patch_size must be >= 32'):
        ldgp(img, patch_size=16)
    with pytest.raises(ValueError, match='kernel_size must be an int'):
        ldgp(img, kernel_size=2.5)
    with pytest.raises(ValueError, match='kernel_size must be >= 1'):
        ldgp(img, kernel_size=0)
    # a strided view is accepted and gives the same mask as a copy
    big = np.zeros((160, 192, 3), np.uint8)
    big[::2, ::2] = streaks(80, 96, 20)[0]
    np.testing.assert_array_equal(
        ldgp(big[::2, ::2]), ldgp(np.ascontiguousarray(big[::2, ::2])))


def test_official_rain100l_masks_bit_exact(data_root):
    """All 100 official masks, from the 320x480 crops of the rainy
    Rain100L test images (the Rain2Avoid protocol)."""
    rain_dir = osp.join(data_root, 'rain100l', 'test', 'rain')
    ref_dir = osp.join(data_root, 'rain2avoid', 'ldgp_official')
    differ = []
    for n in range(1, 101):
        img = cv2.imread(osp.join(rain_dir, f'norain-{n}.png'))
        ref = cv2.imread(osp.join(ref_dir, f'{n}.png'), cv2.IMREAD_UNCHANGED)
        if img is None or ref is None:
            pytest.fail(f'missing norain-{n}.png in {rain_dir} or {n}.png '
                        f'in {ref_dir}')
        mask = ldgp(crop_to_multiple(img, 16))
        if mask.shape != ref.shape:
            differ.append(f'{n}.png: shape {mask.shape} vs {ref.shape}')
        elif (mask != ref).any():
            differ.append(f'{n}.png: {np.count_nonzero(mask != ref)} pixels')
    assert not differ, 'masks differing from the official ones: ' + ', '.join(
        differ)
