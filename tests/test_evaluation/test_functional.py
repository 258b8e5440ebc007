# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of the MATLAB-protocol PSNR / SSIM functions."""
import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mmderain.evaluation.functional import (calculate_psnr, calculate_ssim,
                                            rgb2ycbcr_y, ssim_map)


def _pair(h: int = 32, w: int = 40, seed: int = 0):
    """A random uint8 RGB image and a noisy copy of it."""
    rng = np.random.default_rng(seed)
    img1 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    noise = rng.integers(-20, 21, (h, w, 3))
    img2 = np.clip(img1.astype(int) + noise, 0, 255).astype(np.uint8)
    return img1, img2


def _skimage_ssim(y1: np.ndarray, y2: np.ndarray, **kwargs):
    """skimage SSIM with Wang's settings; returns (mean, full map)."""
    return structural_similarity(
        y1,
        y2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
        **kwargs)


def test_rgb2ycbcr_y_known_values():
    img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    y = rgb2ycbcr_y(img, 'RGB')
    assert y.dtype == np.float64 and y.shape == (1, 3)
    np.testing.assert_allclose(
        y[0], [16 / 255, 235 / 255, 81.481 / 255], rtol=0, atol=1e-15)
    # Not rounded: a mid-grey gives a non-integer Y * 255.
    y_grey = rgb2ycbcr_y(np.full((1, 1, 3), 100, np.uint8))[0, 0] * 255
    assert abs(y_grey - (219 * 100 / 255 + 16)) < 1e-12


def test_rgb2ycbcr_y_channel_order_and_gray():
    img, _ = _pair()
    np.testing.assert_array_equal(
        rgb2ycbcr_y(img, 'RGB'), rgb2ycbcr_y(img[..., ::-1], 'BGR'))
    assert not np.allclose(rgb2ycbcr_y(img, 'RGB'), rgb2ycbcr_y(img, 'BGR'))
    # Float input in [0, 255] equals uint8 input.
    np.testing.assert_array_equal(
        rgb2ycbcr_y(img), rgb2ycbcr_y(img.astype(np.float32)))
    gray = img[..., 0]
    np.testing.assert_array_equal(rgb2ycbcr_y(gray), gray / 255.0)
    np.testing.assert_array_equal(rgb2ycbcr_y(gray[..., None]), gray / 255.)
    for bad in ('rgb2', 'YUV', None):
        with pytest.raises(ValueError, match='channel_order'):
            rgb2ycbcr_y(img, bad)


def test_psnr_matches_skimage():
    img1, img2 = _pair()
    y1, y2 = rgb2ycbcr_y(img1), rgb2ycbcr_y(img2)
    ref = peak_signal_noise_ratio(y1, y2, data_range=1)
    assert abs(calculate_psnr(img1, img2) - ref) < 1e-10
    ref_rgb = peak_signal_noise_ratio(img1 / 255., img2 / 255., data_range=1)
    assert abs(calculate_psnr(img1, img2, convert_to=None) - ref_rgb) < 1e-10


def test_ssim_matches_skimage_valid_region():
    img1, img2 = _pair()
    y1, y2 = rgb2ycbcr_y(img1) * 255, rgb2ycbcr_y(img2) * 255
    ref_mean, ref_map = _skimage_ssim(y1, y2)
    ours_map = ssim_map(y1, y2)
    assert ours_map.shape == (32 - 10, 40 - 10)
    # skimage filters the padded image, then averages the map cropped by
    # (win - 1) / 2 = 5 pixels: that crop is exactly the 'valid' region.
    np.testing.assert_allclose(ours_map, ref_map[5:-5, 5:-5], atol=1e-12)
    assert abs(calculate_ssim(img1, img2) - ref_mean) < 1e-12


def test_ssim_all_channels_matches_skimage():
    img1, img2 = _pair(seed=1)
    ref_mean, _ = _skimage_ssim(
        img1.astype(np.float64), img2.astype(np.float64), channel_axis=-1)
    assert abs(calculate_ssim(img1, img2, convert_to=None) - ref_mean) < 1e-12


def test_channel_order_is_explicit():
    img1, img2 = _pair(seed=2)
    bgr1, bgr2 = img1[..., ::-1], img2[..., ::-1]
    for fn in (calculate_psnr, calculate_ssim):
        rgb_val = fn(img1, img2, channel_order='RGB')
        assert fn(bgr1, bgr2, channel_order='BGR') == rgb_val
        assert abs(fn(bgr1, bgr2, channel_order='RGB') - rgb_val) > 1e-5
        with pytest.raises(ValueError, match='channel_order'):
            fn(img1, img2, channel_order='rgbx')


def test_crop_border():
    img1, img2 = _pair(seed=3)
    c = 4
    for fn in (calculate_psnr, calculate_ssim):
        cropped = fn(img1[c:-c, c:-c], img2[c:-c, c:-c])
        assert fn(img1, img2, crop_border=c) == cropped
        assert fn(img1, img2, crop_border=c) != fn(img1, img2)
        with pytest.raises(ValueError, match='crop_border'):
            fn(img1, img2, crop_border=-1)
        with pytest.raises(ValueError, match='crop_border'):
            fn(img1, img2, crop_border=16)


def test_identical_and_errors():
    img1, img2 = _pair(seed=4)
    assert calculate_psnr(img1, img1) == math.inf
    assert calculate_psnr(img1, img1, convert_to=None) == math.inf
    assert calculate_ssim(img1, img1) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match=r'\(32, 40, 3\).*\(32, 39, 3\)'):
        calculate_psnr(img1, img2[:, :-1])
    with pytest.raises(ValueError, match=r'\(32, 40, 3\).*\(31, 40, 3\)'):
        calculate_ssim(img1, img2[:-1])
    with pytest.raises(ValueError, match='convert_to'):
        calculate_psnr(img1, img2, convert_to='YCbCr')
    with pytest.raises(ValueError, match='11x11'):
        calculate_ssim(img1[:10], img2[:10])


@pytest.mark.parametrize('n', [1, 37, 100])
def test_real_pairs_match_skimage(read_rain100l, n):
    rain, clean = read_rain100l(n)
    assert rain.shape == clean.shape
    assert rain.shape in ((321, 481, 3), (481, 321, 3))  # some are portrait
    y1, y2 = rgb2ycbcr_y(rain) * 255, rgb2ycbcr_y(clean) * 255
    psnr = calculate_psnr(rain, clean)
    ssim = calculate_ssim(rain, clean)
    assert abs(psnr - peak_signal_noise_ratio(y2, y1, data_range=255)) < 1e-9
    assert abs(ssim - _skimage_ssim(y1, y2)[0]) < 1e-12
    assert 15 < psnr < 45 and 0.5 < ssim < 1


def test_real_rain100l_input_psnr(read_rain100l):
    """Rainy input vs GT over the 100 test pairs: 26.90 dB (dataset card)."""
    values = [calculate_psnr(*read_rain100l(n)) for n in range(1, 101)]
    assert round(float(np.mean(values)), 2) == 26.90
