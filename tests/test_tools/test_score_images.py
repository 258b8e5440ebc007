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
