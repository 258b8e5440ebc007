# Copyright (c) mmderain contributors. All rights reserved.
import json

import cv2
import numpy as np
import pytest

from mmderain.evaluation.functional import calculate_psnr, calculate_ssim
from tests._helpers import run_tool


def _write(folder, name, img):
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / name), img)


def test_scores_with_alpha_and_crop(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    pred = np.clip(gt.astype(int) + rng.integers(-9, 10, gt.shape), 0,
                   255).astype(np.uint8)
    # RGBA prediction (plt.imsave) of a 16x16 top-left crop
    rgba = np.dstack([pred[:16, :16], np.full((16, 16), 255, np.uint8)])
    _write(tmp_path / 'pred', '1.png', rgba)
    _write(tmp_path / 'gt', '1.jpg', gt)  # stems pair across extensions
    gt_read = cv2.imread(str(tmp_path / 'gt' / '1.jpg'))[:16, :16]
    out = tmp_path / 's.json'
    run_tool('analysis/score_images.py', [
        str(tmp_path / 'pred'),
        str(tmp_path / 'gt'), '--crop-to-pred', '--out',
        str(out)
    ])
    scores = json.loads(out.read_text())
    expected = calculate_psnr(pred[:16, :16], gt_read, channel_order='BGR')
    assert scores['images']['1']['PSNR'] == pytest.approx(expected, abs=1e-9)
    assert scores['mean']['SSIM'] == pytest.approx(
        calculate_ssim(pred[:16, :16], gt_read, channel_order='BGR'),
        abs=1e-12)


def test_failures_are_named(tmp_path):
    img = np.zeros((16, 16, 3), np.uint8)
    _write(tmp_path / 'pred', '1.png', img)
    _write(tmp_path / 'pred', '2.png', img)
    _write(tmp_path / 'gt', '1.png', np.zeros((16, 18, 3), np.uint8))
    with pytest.raises(SystemExit) as info:
        run_tool('analysis/score_images.py',
                 [str(tmp_path / 'pred'),
                  str(tmp_path / 'gt')])
    message = str(info.value.code)
    assert '2 image(s) not scored' in message
    assert '1.png is 16x16' in message and '2: no clean image' in message


def _smooth(h, w, seed):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.normal(128, 40, (h, w, 3)), (5, 5), 1.0)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_niqe_without_clean_images(tmp_path, capsys):
    from mmderain.evaluation.niqe import calculate_niqe
    imgs = {'2': _smooth(96, 192, 0), '10': _smooth(100, 200, 1)}
    for stem, img in imgs.items():
        _write(tmp_path / 'real', f'{stem}.png', img)
    _write(tmp_path / 'real', '3.png', _smooth(90, 200, 2))  # too small
    out = tmp_path / 'o' / 'niqe.json'
    with pytest.raises(SystemExit) as info:
        run_tool('analysis/score_images.py',
                 [str(tmp_path / 'real'), '--niqe', '--out',
                  str(out)])
    message = str(info.value.code)
    assert '1 image(s) not scored' in message
    assert '3.png: NIQE needs at least two 96x96 blocks' in message
    scores = json.loads(out.read_text())
    expected = {
        stem: calculate_niqe(img, channel_order='BGR')
        for stem, img in imgs.items()
    }
    assert scores['images'] == {k: {'NIQE': v} for k, v in expected.items()}
    assert scores['mean'] == {
        'NIQE': pytest.approx(np.mean(list(expected.values())), abs=1e-12)
    }
    assert [f['key'] for f in scores['failures']] == ['3']
    printed = capsys.readouterr().out
    assert '[1/3] 2: NIQE' in printed and '[2/3] 3: FAILED' in printed


def test_niqe_with_psnr_ssim_and_nothing_to_score(tmp_path):
    img = _smooth(96, 192, 3)
    _write(tmp_path / 'pred', '1.png', img)
    _write(tmp_path / 'gt', '1.png', img)
    mean = run_tool('analysis/score_images.py',
                    [str(tmp_path / 'pred'),
                     str(tmp_path / 'gt'), '--niqe'])
    assert set(mean) == {'PSNR', 'SSIM', 'NIQE'} and mean['SSIM'] == 1.0
    with pytest.raises(SystemExit) as info:
        run_tool('analysis/score_images.py', [str(tmp_path / 'pred')])
    assert info.value.code == 2  # argparse: a clean folder or --niqe


def test_rgb_scores(tmp_path):
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    pred = gt.copy()
    pred[..., 0] = np.clip(gt[..., 0].astype(int) + 30, 0, 255)  # blue only
    _write(tmp_path / 'pred', '1.png', pred)
    _write(tmp_path / 'gt', '1.png', gt)
    out = tmp_path / 's.json'
    mean = run_tool('analysis/score_images.py', [
        str(tmp_path / 'pred'),
        str(tmp_path / 'gt'), '--rgb', '--out',
        str(out)
    ])
    rgb_psnr = 10 * np.log10(255**2 / np.mean(
        (pred.astype(float) - gt.astype(float))**2))
    assert mean['RGB/PSNR'] == pytest.approx(rgb_psnr, abs=1e-9)
    assert mean['RGB/SSIM'] == pytest.approx(
        calculate_ssim(pred, gt, convert_to=None), abs=1e-12)
    # the Y scores are unchanged and differ from the RGB ones
    assert mean['PSNR'] == pytest.approx(
        calculate_psnr(pred, gt, channel_order='BGR'), abs=1e-9)
    assert abs(mean['PSNR'] - mean['RGB/PSNR']) > 1
    assert set(json.loads(out.read_text())['images']['1']) == {
        'PSNR', 'SSIM', 'RGB/PSNR', 'RGB/SSIM'
    }
