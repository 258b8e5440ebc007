# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of the MatlabPSNR / MatlabSSIM MMEngine metrics."""
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mmderain.evaluation import MatlabPSNR, MatlabSSIM
from mmderain.evaluation.functional import calculate_psnr, calculate_ssim
from mmderain.registry import METRICS


def _rgb_pairs(n: int = 2, h: int = 24, w: int = 30):
    """Random uint8 RGB HWC (gt, pred) pairs."""
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(n):
        gt = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        noise = rng.integers(-25, 26, (h, w, 3))
        pred = np.clip(gt.astype(int) + noise, 0, 255).astype(np.uint8)
        pairs.append((gt, pred))
    return pairs


def _chw_bgr(img: np.ndarray) -> torch.Tensor:
    """uint8 RGB HWC -> float CHW BGR tensor in [0, 255] (mmagic layout)."""
    return torch.from_numpy(img[..., ::-1].transpose(2, 0, 1).copy()).float()


def _samples(pairs, nested: bool = True):
    """DataSample.to_dict()-like dicts holding the pairs."""
    samples = []
    for i, (gt, pred) in enumerate(pairs):
        sample = dict(gt_img=_chw_bgr(gt), gt_path=f'/data/gt/img-{i}.png')
        if nested:
            sample['output'] = dict(pred_img=_chw_bgr(pred))
        else:
            sample['pred_img'] = _chw_bgr(pred)
        samples.append(sample)
    return samples


@pytest.mark.parametrize('cls, fn', [(MatlabPSNR, calculate_psnr),
                                     (MatlabSSIM, calculate_ssim)])
@pytest.mark.parametrize('nested', [True, False])
def test_metric_matches_functional(cls, fn, nested):
    pairs = _rgb_pairs()
    metric = cls(crop_border=2)
    metric.process({}, _samples(pairs[:1], nested))
    metric.process({}, _samples(pairs[1:], nested))
    expected = [fn(gt, pred, crop_border=2) for gt, pred in pairs]
    assert [r[cls.metric] for r in metric.results] == pytest.approx(
        expected, abs=1e-12)
    assert [r['name'] for r in metric.results] == ['img-0.png', 'img-0.png']
    result = metric.compute_metrics(metric.results)
    assert result == {cls.metric: pytest.approx(np.mean(expected), abs=1e-12)}


def test_metric_numpy_inputs_and_channel_order():
    (gt, pred), = _rgb_pairs(1)
    expected = calculate_psnr(gt, pred)
    # HWC RGB numpy arrays with channel_order='RGB'.
    rgb_metric = MatlabPSNR(channel_order='RGB')
    rgb_metric.process({}, [dict(gt_img=gt, pred_img=pred, key='k')])
    assert rgb_metric.results == [dict(PSNR=expected, name='k')]
    # CHW BGR numpy arrays with the default channel_order='BGR'.
    bgr_metric = MatlabPSNR()
    bgr_metric.process({}, [
        dict(
            gt_img=gt[..., ::-1].transpose(2, 0, 1),
            pred_img=pred[..., ::-1].transpose(2, 0, 1))
    ])
    assert bgr_metric.results[0]['PSNR'] == pytest.approx(expected, abs=1e-12)
    # The wrong flag changes the value.
    wrong = MatlabPSNR(channel_order='RGB')
    wrong.process({}, _samples([(gt, pred)]))
    assert abs(wrong.results[0]['PSNR'] - expected) > 1e-3


def test_metric_errors():
    with pytest.raises(ValueError, match='channel_order'):
        MatlabPSNR(channel_order='YUV')
    with pytest.raises(ValueError, match='convert_to'):
        MatlabSSIM(convert_to='ycbcr')
    with pytest.raises(ValueError, match='crop_border'):
        MatlabSSIM(crop_border=-2)
    metric = MatlabPSNR()
    with pytest.raises(KeyError, match='pred_img'):
        metric.process({}, [dict(gt_img=torch.zeros(3, 12, 12))])
    with pytest.raises(ValueError, match='shapes differ'):
        metric.process({}, [
            dict(gt_img=torch.zeros(3, 12, 12), pred_img=torch.zeros(3, 12,
                                                                     13))
        ])


def test_registry_build():
    init_default_scope('mmderain')
    psnr = METRICS.build(dict(type='MatlabPSNR', crop_border=1))
    ssim = METRICS.build(dict(type='MatlabSSIM', convert_to=None))
    assert isinstance(psnr, MatlabPSNR) and psnr.crop_border == 1
    assert isinstance(ssim, MatlabSSIM) and ssim.convert_to is None
