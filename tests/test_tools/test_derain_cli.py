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


def test_cli_skips_bad_images_and_reports_them(model_files, tmp_path,
                                               monkeypatch, capsys):
    in_dir = tmp_path / 'in'
    in_dir.mkdir()
    assert cv2.imwrite(
        str(in_dir / 'a.png'), np.full((10, 12, 3), 200, np.uint8))
    assert cv2.imwrite(
        str(in_dir / 'huge.png'), np.zeros((30, 40, 3), np.uint8))
    (in_dir / 'broken.jpg').write_bytes(b'not a jpeg')
    assert cv2.imwrite(
        str(in_dir / 'z.png'), np.full((10, 12, 3), 100, np.uint8))

    def derain_tensor(self, x):  # CPU out of memory on the large image
        if x.shape[-1] > 20:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: "
                               'you tried to allocate 123456789 bytes.')
        return (x * self.gain).clamp(0, 1)

    monkeypatch.setattr(CliTestDerainer, 'derain_tensor', derain_tensor)
    out_dir = tmp_path / 'out'
    rc = load_tool('derain.py').main([
        *model_files,
        str(in_dir), '--out-dir',
        str(out_dir), '--device', 'cpu'
    ])
    assert rc == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ['a.png', 'z.png']
    captured = capsys.readouterr()
    assert 'Wrote 2 derained image(s)' in captured.out
    err = captured.err
    assert '2 image(s) failed' in err
    assert str(in_dir / 'broken.jpg') in err
    assert str(in_dir / 'huge.png') in err and '40x30 pixels' in err
    assert '--tile 512' in err


def test_cli_writes_png_unless_asked(model_files, tmp_path):
    src = tmp_path / 'photo.jpg'
    assert cv2.imwrite(str(src), np.full((10, 12, 3), 200, np.uint8))
    decoded = cv2.imread(str(src))
    tool = load_tool('derain.py')
    assert tool.main([
        *model_files,
        str(src), '--out-dir',
        str(tmp_path / 'png'), '--device', 'cpu'
    ]) == 0
    out = cv2.imread(str(tmp_path / 'png' / 'photo.png'))
    expected = np.floor(decoded * 0.5 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)  # no JPEG artefacts
    assert not (tmp_path / 'png' / 'photo.jpg').exists()
    assert tool.main([
        *model_files,
        str(src), '--out-dir',
        str(tmp_path / 'jpg'), '--device', 'cpu', '--ext', '.jpg'
    ]) == 0
    assert (tmp_path / 'jpg' / 'photo.jpg').is_file()


def test_cli_names_inputs_whose_outputs_clash(model_files, tmp_path, capsys):
    for name in ('a.jpg', 'a.png'):
        assert cv2.imwrite(str(tmp_path / name), np.zeros((8, 8, 3), np.uint8))
    rc = load_tool('derain.py').main([
        *model_files,
        str(tmp_path / 'a.*'), '--out-dir',
        str(tmp_path / 'out'), '--device', 'cpu'
    ])
    assert rc == 1
    err = capsys.readouterr().err
    assert 'a.jpg' in err and 'a.png' in err


@pytest.mark.parametrize('device,available,count,expected', [
    ('cuda', False, 0, 'CUDA is not available on this machine; use '
     '--device cpu'),
    ('cuda:0', False, 0, '--device cuda:0 requested but CUDA is not '
     'available'),
    ('cuda:2', True, 1, 'this machine has 1 CUDA device(s)'),
    ('gpu', True, 1, "--device 'gpu' is not a device name"),
])
def test_cli_checks_the_device_first(model_files, tmp_path, monkeypatch,
                                     capsys, device, available, count,
                                     expected):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: count)
    assert cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    rc = load_tool('derain.py').main([
        *model_files,
        str(tmp_path / 'a.png'), '--out-dir',
        str(tmp_path / 'out'), '--device', device
    ])
    assert rc == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()
