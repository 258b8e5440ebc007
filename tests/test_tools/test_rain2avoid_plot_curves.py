# Copyright (c) mmderain contributors. All rights reserved.
import json

import cv2
import pytest

from tests._helpers import run_tool


def _log(folder, key, metrics):
    with open(folder / f'{key}.json', 'w') as f:
        json.dump(
            dict(
                key=key,
                steps=4,
                loss=[0.4, 0.3, 0.2, 0.1],
                curve=[dict(step=2, **metrics.get('output', {}))],
                metrics=metrics), f)


def test_plot_curves(tmp_path):
    _log(
        tmp_path, '1',
        dict(
            output=dict(PSNR=30., SSIM=.9),
            fused_sdr=dict(PSNR=29.),
            input=dict(PSNR=27.)))
    _log(tmp_path, '2', dict(output={}))  # no clean image
    (tmp_path / 'summary.json').write_text('{}')
    run_tool('rain2avoid/plot_curves.py', [str(tmp_path), '--window', '2'])
    img = cv2.imread(str(tmp_path / 'curves.png'))
    assert img.shape[0] == 600 and img.shape[1] == 1000  # 2 rows, 100 dpi


def test_plot_curves_errors(tmp_path):
    with pytest.raises(SystemExit, match='no <key>.json'):
        run_tool('rain2avoid/plot_curves.py', [str(tmp_path)])
    (tmp_path / 'x.json').write_text('{"key": "x"}')
    with pytest.raises(SystemExit, match='x.json is not a per-image log'):
        run_tool('rain2avoid/plot_curves.py', [str(tmp_path)])
