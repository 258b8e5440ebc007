# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of ``tools/derain.py`` with a tiny derainer registered on the fly."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from mmderain.registry import MODELS
from tests._helpers import load_tool

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@MODELS.register_module(name='_CliTestDerainer', force=True)
class CliTestDerainer(nn.Module):
    """Learned per-channel gain; a stand-in for a real derainer."""

    pad_multiple = 1

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1, 3, 1, 1))

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.gain).clamp(0, 1)


@pytest.fixture
def model_files(tmp_path):
    cfg = tmp_path / 'tiny_cfg.py'
    cfg.write_text("model = dict(type='_CliTestDerainer')\n")
    ckpt = tmp_path / 'tiny.pth'
    state = {'gain': torch.full((1, 3, 1, 1), 0.5)}
    torch.save({'state_dict': state, 'meta': {}}, str(ckpt))
    return str(cfg), str(ckpt)


def test_cli_derains_folder(model_files, tmp_path):
    in_dir = tmp_path / 'in'
    in_dir.mkdir()
    img = np.full((10, 12, 3), 200, np.uint8)
    for name in ('a.png', 'b.png'):
        assert cv2.imwrite(str(in_dir / name), img)
    out_dir = tmp_path / 'out'
    rc = load_tool('derain.py').main([
        *model_files,
        str(in_dir), '--out-dir',
        str(out_dir), '--tile', '8', '--tile-overlap', '2', '--compare',
        '--device', 'cpu'
    ])
    assert rc == 0
    for name in ('a.png', 'b.png'):
        np.testing.assert_array_equal(
            cv2.imread(str(out_dir / name)), np.full_like(img, 100))
        assert cv2.imread(str(out_dir / 'compare' / name)).shape == (10, 24, 3)


def test_cli_reports_missing_input(model_files, tmp_path, capsys):
    rc = load_tool('derain.py').main([
        *model_files,
        str(tmp_path / '*.png'), '--out-dir',
        str(tmp_path / 'out')
    ])
    assert rc == 1
    assert '*.png' in capsys.readouterr().err


def test_cli_reports_missing_checkpoint(model_files, tmp_path, capsys):
    rc = load_tool('derain.py').main([
        model_files[0],
        str(tmp_path / 'missing.pth'),
        str(tmp_path), '--out-dir',
        str(tmp_path / 'out')
    ])
    assert rc == 1
    assert 'missing.pth' in capsys.readouterr().err


def test_demo_runs_with_tiny_model(model_files, tmp_path, capsys):
    pytest.importorskip('skimage')
    out_dir = tmp_path / 'demo'
    rc = load_tool('demo.py').main([
        '--config', model_files[0], '--checkpoint', model_files[1],
        '--out-dir',
        str(out_dir), '--images', 'astronaut', '--max-size', '48'
    ])
    assert rc == 0
    text = capsys.readouterr().out
    assert 'astronaut' in text and 'mean' in text
    side = cv2.imread(str(out_dir / 'astronaut.png'))
    assert side.shape == (48, 3 * 48 + 2 * 4, 3)


def test_demo_missing_checkpoint(tmp_path, capsys):
    rc = load_tool('demo.py').main(
        ['--checkpoint', str(tmp_path / 'gone.pth')])
    assert rc == 1
    assert 'gone.pth' in capsys.readouterr().err


def test_cli_with_tiny_prenet(tmp_path):
    """End to end with a real (tiny, random) PReNet derainer."""
    from mmengine.runner import save_checkpoint

    from mmderain.apis import init_derainer

    cfg = tmp_path / 'tiny_prenet.py'
    cfg.write_text(
        "model = dict(type='BaseDerainer', generator=dict(type='PReNet', "
        "num_stages=2, mid_channels=4, num_res_blocks=1), "
        "pixel_loss=dict(type='L1Loss'))\n")
    with pytest.warns(UserWarning, match='No checkpoint'):
        model = init_derainer(str(cfg))
    ckpt = str(tmp_path / 'tiny_prenet.pth')
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    img = np.random.default_rng(0).integers(0, 256, (20, 18, 3), np.uint8)
    assert cv2.imwrite(str(tmp_path / 'rain.png'), img)
    out_dir = tmp_path / 'out'
    rc = load_tool('derain.py').main([
        str(cfg), ckpt,
        str(tmp_path / 'rain.png'), '--out-dir',
        str(out_dir), '--tile', '16', '--tile-overlap', '4', '--device', 'cpu'
    ])
    assert rc == 0
    out = cv2.imread(str(out_dir / 'rain.png'))
    assert out.shape == img.shape
