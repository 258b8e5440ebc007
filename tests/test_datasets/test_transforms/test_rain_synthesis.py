# Copyright (c) mmderain contributors. All rights reserved.
import time

import numpy as np
import pytest

from mmderain.datasets.transforms import (AddRainStreaks, line_kernel,
                                          synthesize_rain)
from mmderain.registry import TRANSFORMS


def _clean(h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 200, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize('angle, axis', [(0, 0), (90, 1), (-90, 1)])
def test_line_kernel_orientation(angle, axis):
    k = line_kernel(15, angle, width=1)
    assert k.dtype == np.float32 and k.shape[0] == k.shape[1]
    assert k.shape[0] % 2 == 1 and k.max() <= 1.0
    c = k.shape[0] // 2
    proj = k.sum(axis=axis)  # profile across the line
    assert proj.argmax() == c
    assert proj[:c - 1].sum() == 0 and proj[c + 2:].sum() == 0
    centre = k[:, c] if axis == 0 else k[c, :]
    assert 14 <= (centre > 0.5).sum() <= 16  # about `length` px long


def test_line_kernel_tilt_direction():
    k = line_kernel(15, 30)
    c = k.shape[0] // 2
    ys, xs = np.nonzero(k > 0.5)
    top = xs[ys < c - 3].mean()
    bottom = xs[ys > c + 3].mean()
    assert top > c > bottom  # positive angle: top end leans right
    thick = line_kernel(15, 0, width=3)
    assert (thick[c] > 0.5).sum() >= 3


def test_deterministic_for_a_seed():
    clean = _clean()
    a, ra = synthesize_rain(clean, rng=3)
    b, rb = synthesize_rain(clean, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ra, rb)
    c, _ = synthesize_rain(clean, rng=4)
    assert not np.array_equal(a, c)
    np.random.seed(1)
    d, _ = synthesize_rain(clean)
    np.random.seed(1)
    e, _ = synthesize_rain(clean)
    np.testing.assert_array_equal(d, e)


def test_uint8_screen_model():
    clean = _clean()
    rainy, streak = synthesize_rain(clean, rng=0, density=0.02)
    assert rainy.shape == clean.shape and rainy.dtype == np.uint8
    assert streak.shape == clean.shape[:2] and streak.dtype == np.float32
    assert 0 <= streak.min() and streak.max() <= 0.6 + 1e-6
    assert streak.max() > 0.4 and (streak > 0.05).mean() > 0.05
    assert (rainy >= clean).all()
    b = clean.astype(np.float32) / 255
    expected = np.rint((b + streak[..., None] * (1 - b)) * 255)
    assert np.abs(rainy - expected).max() <= 1


def test_add_model_and_float_ranges():
    clean = _clean().astype(np.float32)  # [0, 255] like to_float32 loading
    rainy, streak = synthesize_rain(clean, rng=0, blend='add', density=0.02)
    assert rainy.dtype == np.float32
    expected = np.clip(clean + 255 * streak[..., None], 0, 255)
    np.testing.assert_allclose(rainy, expected, atol=1e-3)
    unit, streak1 = synthesize_rain(
        clean / 255, rng=0, blend='add', density=0.02)
    np.testing.assert_array_equal(streak, streak1)
    np.testing.assert_allclose(unit * 255, rainy, atol=1e-3)
    assert unit.max() <= 1.0


def test_achromatic_and_gray():
    gray = _clean()[..., :1]
    rgb = np.repeat(gray, 3, axis=2)
    rainy, _ = synthesize_rain(rgb, rng=5, density=0.02)
    assert (rainy[..., 0] == rainy[..., 1]).all()
    assert (rainy[..., 1] == rainy[..., 2]).all()
    rainy_hw, _ = synthesize_rain(gray[..., 0], rng=5, density=0.02)
    assert rainy_hw.shape == gray.shape[:2]
    np.testing.assert_array_equal(rainy_hw, rainy[..., 0])


def test_no_rain_when_density_or_brightness_zero():
    clean = _clean()
    for kwargs in (dict(density=0), dict(brightness=0)):
        rainy, streak = synthesize_rain(clean, rng=0, **kwargs)
        np.testing.assert_array_equal(rainy, clean)
        assert not streak.any()


def test_streaks_follow_angle():
    clean = np.zeros((128, 128), np.uint8)

    def grad_ratio(angle):
        _, s = synthesize_rain(
            clean, rng=0, angle=angle, length=30, density=0.005, blur=0)
        dy = np.abs(np.diff(s, axis=0)).mean()
        dx = np.abs(np.diff(s, axis=1)).mean()
        return dy / dx

    assert grad_ratio(0) < 0.3  # vertical streaks: smooth along y
    assert grad_ratio(90) > 3


@pytest.mark.parametrize('kwargs', [
    dict(density=1.5),
    dict(brightness=-0.1),
    dict(blur=-1),
    dict(blend='multiply')
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        synthesize_rain(_clean(8, 8), rng=0, **kwargs)
    with pytest.raises(ValueError):
        synthesize_rain(np.zeros((2, 2, 2, 2), np.uint8))


def test_fast_on_512():
    clean = _clean(512, 512)
    synthesize_rain(clean, rng=0, length=40, width=2)  # warm up
    start = time.perf_counter()
    for i in range(3):
        synthesize_rain(clean, rng=i, length=40, width=2)
    assert (time.perf_counter() - start) / 3 < 0.2


def test_transform_outputs():
    clean = _clean()
    results = dict(
        gt=clean.copy(),
        key='norain-1',
        gt_channel_order='rgb',
        ori_gt_shape=clean.shape)
    t = AddRainStreaks(rain_layer_key='rain_layer', seed=0)
    out = t(results)
    np.testing.assert_array_equal(out['gt'], clean)  # gt untouched
    assert out['img'].shape == clean.shape and out['img'].dtype == np.uint8
    assert (out['img'] >= clean).all() and (out['img'] > clean).any()
    assert out['rain_layer'].shape == clean.shape[:2] + (1, )
    assert out['img_channel_order'] == 'rgb'
    assert out['ori_img_shape'] == clean.shape
    p = out['rain_params']
    assert -15 <= p['angle'] <= 15 and 15 <= p['length'] <= 40
    assert p['width'] == 1 and p['blend'] == 'screen'


def _sample(key, seed=0):
    return dict(gt=_clean(seed=seed), key=key)


def test_transform_seed_is_per_sample():
    a1 = AddRainStreaks(seed=7)(_sample('a'))['img']
    AddRainStreaks(seed=7)(_sample('b'))
    t = AddRainStreaks(seed=7)
    t(_sample('b'))
    a2 = t(_sample('a'))['img']  # other order, other instance: same rain
    np.testing.assert_array_equal(a1, a2)
    b = AddRainStreaks(seed=7)(_sample('b'))['img']
    assert not np.array_equal(a1, b)
    a3 = AddRainStreaks(seed=8)(_sample('a'))['img']
    assert not np.array_equal(a1, a3)
    # without `key`, the basename of gt_path identifies the sample
    s1 = dict(gt=_clean(), gt_path='/x/data/n-1.png')
    s2 = dict(gt=_clean(), gt_path='/y/other/n-1.png')
    np.testing.assert_array_equal(
        AddRainStreaks(seed=1)(s1)['img'],
        AddRainStreaks(seed=1)(s2)['img'])


def test_transform_global_random_state():
    t = AddRainStreaks()
    np.random.seed(3)
    a = t(_sample('a'))
    b = t(_sample('a'))
    assert not np.array_equal(a['img'], b['img'])  # new rain per call
    np.random.seed(3)
    np.testing.assert_array_equal(t(_sample('a'))['img'], a['img'])


def test_transform_fixed_parameters_and_errors():
    t = AddRainStreaks(
        angle=5,
        length=12,
        density=0.01,
        width=3,
        blur=0,
        brightness=1.0,
        blend='add',
        key='clean',
        out_key='rainy')
    out = t(dict(clean=_clean()))
    assert out['rain_params'] == dict(
        angle=5.0,
        length=12.0,
        density=0.01,
        width=3,
        blur=0.0,
        brightness=1.0,
        blend='add')
    assert 'rainy' in out and 'img' not in out and 'rain_layer' not in out
    with pytest.raises(ValueError):
        AddRainStreaks(blend='overlay')
    with pytest.raises(ValueError):
        AddRainStreaks(length=(40, 10))
    with pytest.raises(ValueError):
        AddRainStreaks(width=0)


def test_transform_width_range_inclusive():
    t = AddRainStreaks(width=(1, 3))
    np.random.seed(0)
    widths = {t._draw(np.random)['width'] for _ in range(200)}
    assert widths == {1, 2, 3}


def test_transform_registry_and_repr():
    t = TRANSFORMS.build(dict(type='AddRainStreaks', seed=1))
    assert isinstance(t, AddRainStreaks)
    r = repr(t)
    assert r.startswith('AddRainStreaks(angle=(-15.0, 15.0)')
    assert 'seed=1' in r and "blend='screen'" in r
