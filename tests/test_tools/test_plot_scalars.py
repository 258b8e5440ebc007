# Copyright (c) mmderain contributors. All rights reserved.
"""tools/analysis/plot_scalars.py on a small MMEngine scalars.json."""
import json

import cv2
import pytest

from tests._helpers import load_tool, run_tool


def _work_dir(tmp_path):
    run = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    recs = [
        dict(loss_a=10.0 / i, loss_b=-i, lr=1e-4, iter=i, step=i)
        for i in range(1, 6)
    ]
    recs.append(dict(PSNR=30.5, SSIM=0.9, step=5))
    (run / 'scalars.json').write_text('\n'.join(map(json.dumps, recs)))
    return tmp_path / 'work', run / 'scalars.json'


def test_plot_scalars_default_keys(tmp_path, capsys):
    work, scalars = _work_dir(tmp_path)
    out = run_tool('analysis/plot_scalars.py', [str(work), '--log', 'loss_a'])
    assert out == str(scalars.parent / 'curves.png')
    img = cv2.imread(out)
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 300
    assert '4 curves' in capsys.readouterr().out  # loss_a, loss_b, PSNR, SSIM

    tool = load_tool('analysis/plot_scalars.py')
    series = tool.load_scalars(str(scalars))
    assert series['loss_b'] == ([1, 2, 3, 4, 5], [-1., -2., -3., -4., -5.])
    assert series['PSNR'] == ([5], [30.5])
    assert 'step' not in series and 'iter' not in series


def test_plot_scalars_errors(tmp_path):
    work, scalars = _work_dir(tmp_path)
    with pytest.raises(KeyError, match='logged keys'):
        run_tool('analysis/plot_scalars.py', [str(scalars), '--keys', 'nope'])
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        run_tool('analysis/plot_scalars.py', [str(tmp_path / 'empty')])
    scalars.write_text('{"loss": 1, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match='scalars.json:2'):
        run_tool('analysis/plot_scalars.py', [str(scalars)])


def test_validation_records_at_their_iteration(tmp_path):
    """Iteration-based runs log validation with the epoch (0) as step."""
    path = tmp_path / 'scalars.json'
    recs = []
    for it in (50, 100):
        recs.append(dict(loss=1.0 / it, iter=it, step=it))
        recs.append(dict(PSNR=float(it), step=0))
    path.write_text('\n'.join(map(json.dumps, recs)))
    series = load_tool('analysis/plot_scalars.py').load_scalars(str(path))
    assert series['PSNR'] == ([50, 100], [50., 100.])
