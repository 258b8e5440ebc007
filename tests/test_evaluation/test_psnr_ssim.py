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
            dict(
                gt_img=torch.zeros(3, 12, 12), pred_img=torch.zeros(3, 12, 13))
        ])


@pytest.mark.parametrize('cls', [MatlabPSNR, MatlabSSIM])
def test_metric_errors_name_the_image_and_sizes(cls):
    sample = dict(
        key='norain-7',
        img_path='/data/rain/norain-7.png',
        gt_path='/data/norain/norain-7.png',
        gt_img=torch.zeros(3, 12, 16),
        pred_img=torch.zeros(3, 12, 15))
    with pytest.raises(ValueError) as info:
        cls().process({}, [sample])
    message = str(info.value)
    for text in ('norain-7', '/data/rain/norain-7.png',
                 '/data/norain/norain-7.png', '12x16x3', '12x15x3'):
        assert text in message


def test_ssim_too_small_names_the_image_and_size():
    sample = dict(
        gt_path='/data/norain/tiny.png',
        gt_img=torch.zeros(3, 8, 20),
        pred_img=torch.zeros(3, 8, 20))
    with pytest.raises(ValueError, match='11x11') as info:
        MatlabSSIM().process({}, [sample])
    assert '/data/norain/tiny.png' in str(info.value)
    assert '8x20' in str(info.value)
    # the size after crop_border is given too
    sample.update(
        gt_img=torch.zeros(3, 20, 20), pred_img=torch.zeros(3, 20, 20))
    with pytest.raises(ValueError, match='crop_border=5') as info:
        MatlabSSIM(crop_border=5).process({}, [sample])
    assert '20x20' in str(info.value) and '10x10' in str(info.value)


def test_registry_build():
    init_default_scope('mmderain')
    psnr = METRICS.build(dict(type='MatlabPSNR', crop_border=1))
    ssim = METRICS.build(dict(type='MatlabSSIM', convert_to=None))
    assert isinstance(psnr, MatlabPSNR) and psnr.crop_border == 1
    assert isinstance(ssim, MatlabSSIM) and ssim.convert_to is None


def _mmagic_value(name: str, samples, **kwargs) -> float:
    """Mean value of mmagic's metric ``name`` on ``samples``."""
    from mmagic.evaluation.metrics import PSNR, SSIM
    metric = dict(PSNR=PSNR, SSIM=SSIM)[name](**kwargs)
    metric.process({}, samples)
    return float(metric.compute_metrics(metric.results)[name])


def _ours(cls, samples, **kwargs) -> float:
    """Mean value of our metric ``cls`` on ``samples``."""
    metric = cls(**kwargs)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)[cls.metric]


def _assert_mmagic_relationship(samples):
    """mmagic (convert_to='Y') == ours up to float32 rounding only."""
    psnr = _ours(MatlabPSNR, samples)
    ssim = _ours(MatlabSSIM, samples)
    d_psnr = _mmagic_value('PSNR', samples, convert_to='Y') - psnr
    d_ssim = _mmagic_value('SSIM', samples, convert_to='Y') - ssim
    # mmagic works on a float32 Y: not bit-identical, but within 1e-5 dB
    # and 1e-7 SSIM (measured: ~1e-6 dB and ~3e-9 on Rain100L pairs).
    assert 0 < abs(d_psnr) < 1e-5
    assert abs(d_ssim) < 1e-7
    # Over all RGB channels both agree to float32 (PSNR) / float64 (SSIM).
    assert _mmagic_value('PSNR', samples) == pytest.approx(
        _ours(MatlabPSNR, samples, convert_to=None), abs=1e-5)
    assert _mmagic_value('SSIM', samples) == pytest.approx(
        _ours(MatlabSSIM, samples, convert_to=None), abs=1e-12)
    return psnr


def test_mmagic_difference_synthetic():
    _assert_mmagic_relationship(_samples(_rgb_pairs(2, 40, 48)))


def test_mmagic_difference_real(read_rain100l):
    rain, clean = read_rain100l(1)
    psnr = _assert_mmagic_relationship(_samples([(clean, rain)]))
    assert round(psnr, 4) == 27.3008
    # mmagic's default convert_to=None is not the field's Y protocol.
    default = _mmagic_value('PSNR', _samples([(clean, rain)]))
    assert round(default, 4) == 25.9725
