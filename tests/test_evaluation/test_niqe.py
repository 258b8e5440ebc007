# Copyright (c) mmderain contributors. All rights reserved.
"""NIQE (MATLAB niqe_release) and the MatlabNIQE metric."""
import hashlib
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from mmderain.evaluation import MatlabNIQE, calculate_niqe, rgb2gray
from mmderain.evaluation.niqe import BLOCK_SIZE
from mmderain.registry import METRICS
from mmderain.utils.imports import quiet_mmagic_import
from tests._helpers import TEST_DATA

with quiet_mmagic_import():
    from mmagic.evaluation.metrics.niqe import niqe as mmagic_niqe

# tests/data/baboon.png is BasicSR's tests/data/baboon.png (Apache-2.0),
# byte for byte: XPixelGroup/BasicSR commit 85d42c79e9685a87dd09e1ccfa16abe5
# cd1d7fae ("NIQE produces the same results as MATLAB") publishes, in
# basicsr/metrics/niqe.py line 148, "MATLAB R2021a result for
# tests/data/baboon.png: 5.72957338" for the official niqe_release code on
# the image's (rounded) Y channel; mmagic's own test
# (tests/test_evaluation/test_metrics/test_niqe.py, commit 107647a8) asserts
# 5.72957 for its copy.
BABOON = osp.join(TEST_DATA, 'baboon.png')
BABOON_SHA256 = ('275a75fd08d0a7899cbdaa8820ff15869e33bc1d6d07dbc79133374683'
                 'fe411c')
MATLAB_BABOON_Y = 5.72957338
# measured agreement 1.9e-6; the published value has 8 digits
TOL = 1e-5


@pytest.fixture(scope='module')
def baboon():
    with open(BABOON, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == BABOON_SHA256
    img = cv2.imread(BABOON, cv2.IMREAD_COLOR)
    assert img.shape == (480, 492, 3)
    return img  # BGR


def _noise(h=BLOCK_SIZE, w=2 * BLOCK_SIZE, seed=0):
    """A smooth random RGB uint8 image (finite NIQE features)."""
    rng = np.random.default_rng(seed)
    img = rng.normal(128, 40, (h, w, 3))
    return np.clip(cv2.GaussianBlur(img, (5, 5), 1.0), 0, 255).astype(np.uint8)


def test_published_matlab_value_y(baboon):
    value = calculate_niqe(baboon, convert_to='Y', channel_order='BGR')
    assert value == pytest.approx(MATLAB_BABOON_Y, abs=TOL)
    rgb = np.ascontiguousarray(baboon[..., ::-1])
    assert calculate_niqe(rgb, convert_to='y') == value


def test_gray_is_matlab_rgb2gray_then_the_port(baboon):
    # niqe_release converts an RGB image with rgb2gray: MATLAB's weights
    # (documented as 0.2989, 0.5870, 0.1140), rounded to uint8
    rgb = baboon[..., ::-1].astype(np.float64)
    weights = [0.298936021293776, 0.587043074451121, 0.114020904255103]
    gray = np.floor(rgb @ np.array(weights) + 0.5)
    assert np.array_equal(rgb2gray(baboon, 'BGR'), gray)
    value = calculate_niqe(baboon, channel_order='BGR')
    assert value == float(mmagic_niqe(gray, 0, input_order='HW'))
    # OpenCV's gray (mmagic's convert_to='gray') rounds 2037 pixels
    # differently: 5.7315 instead of 5.7496
    assert value == pytest.approx(5.74964, abs=1e-5)
    assert float(mmagic_niqe(baboon, 0, convert_to='gray')) == pytest.approx(
        5.73154, abs=1e-5)


def test_rgb2gray_rounds_like_matlab():
    # MATLAB: 12 R + 8 B = 4.49940 -> 4 (OpenCV's weights: 4.5 -> 5);
    # 5.49940 -> 5 (5.5 -> 6); 0.298936 + 0.456084 = 0.75502 -> 1
    img = np.array([[[12, 0, 8], [13, 1, 9], [1, 0, 4]]], np.uint8)
    assert rgb2gray(img).tolist() == [[4., 5., 1.]]
    # floats are taken as the 8-bit image they round to
    assert np.array_equal(rgb2gray(img + 0.4), rgb2gray(img))
    with pytest.raises(ValueError, match='3 channels'):
        rgb2gray(img[..., :2])


def test_float_input_is_quantised_and_orders_agree():
    img = _noise()
    value = calculate_niqe(img)
    assert np.isfinite(value)
    assert calculate_niqe(img.astype(np.float32) + 0.3) == value
    assert calculate_niqe(img[..., ::-1], channel_order='BGR') == value
    gray = rgb2gray(img)
    assert calculate_niqe(gray) == value == calculate_niqe(gray[..., None])


def test_crop_border_and_block_crop():
    img = _noise(2 * BLOCK_SIZE + 10, 2 * BLOCK_SIZE + 10)
    # only the top-left multiple of 96 counts, as in computequality
    assert calculate_niqe(img) == calculate_niqe(img[:192, :192])
    assert calculate_niqe(
        img, crop_border=5) == calculate_niqe(img[5:-5, 5:-5])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r'two 96x96 blocks.*95x192'):
        calculate_niqe(_noise(95, 192))
    with pytest.raises(ValueError, match='crop_border=1'):
        calculate_niqe(_noise(96, 192), crop_border=1)
    with pytest.raises(ValueError, match="'gray' or 'Y'"):
        calculate_niqe(_noise(), convert_to='ycbcr')
    with pytest.raises(ValueError, match='channel_order'):
        calculate_niqe(_noise(), channel_order='HSV')
    with pytest.raises(ValueError, match='NaN or infinite'):
        calculate_niqe(np.full((96, 192), np.nan))
    # a constant image has no finite block features
    assert np.isnan(calculate_niqe(np.full((96, 192, 3), 7, np.uint8)))


def _chw_bgr(img):
    """uint8 RGB HWC -> float CHW BGR tensor (the layout of pred_img)."""
    return torch.from_numpy(img[..., ::-1].transpose(2, 0, 1).copy()).float()


def test_metric_without_ground_truth():
    imgs = [_noise(seed=1), _noise(seed=2)]
    expected = [calculate_niqe(img) for img in imgs]
    metric = MatlabNIQE()
    metric.process({}, [
        dict(key='a', output=dict(pred_img=_chw_bgr(imgs[0]))),
        dict(img_path='/real/b.jpg', pred_img=_chw_bgr(imgs[1])),
    ])
    assert [r['NIQE'] for r in metric.results] == expected
    assert metric.compute_metrics(metric.results) == {
        'NIQE': pytest.approx(np.mean(expected), abs=1e-12)
    }
    assert metric.per_image == [('a', expected[0]), ('b.jpg', expected[1])]
    # RGB samples and the Y variant
    metric = MatlabNIQE(convert_to='Y', channel_order='RGB')
    metric.process(
        {},
        [dict(pred_img=torch.from_numpy(imgs[0].transpose(2, 0, 1).copy()))])
    assert metric.results[0]['NIQE'] == calculate_niqe(imgs[0], 0, 'Y')


def test_metric_in_an_evaluation():
    init_default_scope('mmderain')
    imgs = [_noise(seed=s) for s in (3, 4, 5)]
    evaluator = Evaluator([dict(type='MatlabNIQE')])
    for img in imgs:
        evaluator.process([dict(output=dict(pred_img=_chw_bgr(img)))],
                          data_batch=None)
    result = evaluator.evaluate(len(imgs))
    assert result == {
        'NIQE': pytest.approx(np.mean([calculate_niqe(x) for x in imgs]))
    }
    assert isinstance(METRICS.build(dict(type='MatlabNIQE')), MatlabNIQE)


def test_metric_errors_name_the_sample():
    with pytest.raises(ValueError, match="'gray' or 'Y'"):
        MatlabNIQE(convert_to='rgb')
    with pytest.raises(ValueError, match='channel_order'):
        MatlabNIQE(channel_order='LAB')
    metric = MatlabNIQE()
    small = dict(key='tiny', pred_img=_chw_bgr(_noise(50, 60)))
    with pytest.raises(ValueError, match=r'key=tiny.*50x60x3.*two 96x96'):
        metric.process({}, [small])
    with pytest.raises(KeyError, match='pred_img.*not found'):
        metric.process({}, [dict(key='x', gt_img=_chw_bgr(_noise()))])
