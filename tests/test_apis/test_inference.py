# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of the inference API with tiny stand-in derainers."""
import contextlib
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import nn

from mmderain.apis import (collect_image_files, derain_files, derain_image,
                           derain_tensor_tiled, init_derainer)


class PointwiseDerainer(nn.Module):
    """Parameter-free derainer computing ``0.5 * x + 0.1`` per pixel."""

    pad_multiple = 1

    def __init__(self) -> None:
        super().__init__()
        self.eval()

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 0.5 + 0.1).clamp(0, 1)


class BoxBlurDerainer(nn.Module):
    """3x3 box blur per channel with reflect padding to ``pad_multiple``."""

    def __init__(self, pad_multiple: int = 1) -> None:
        super().__init__()
        self.pad_multiple = pad_multiple
        self.conv = nn.Conv2d(3, 3, 3, bias=False)
        weight = torch.zeros(3, 3, 3, 3)
        for c in range(3):
            weight[c, c] = 1 / 9
        self.conv.weight.data.copy_(weight)
        self.eval()

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.pad_multiple
        x = F.pad(x, (0, -w % m, 0, -h % m), mode='reflect')
        out = self.conv(F.pad(x, (1, 1, 1, 1), mode='reflect'))
        return out[..., :h, :w].clamp(0, 1)


class ChannelScaleDerainer(PointwiseDerainer):
    """Scales R, G, B by 1, 0.5, 0.25: reveals the channel order used."""

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tensor([1.0, 0.5, 0.25]).view(1, 3, 1, 1)


class RecordingDerainer(PointwiseDerainer):
    """Pointwise derainer remembering the shape of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes = []

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape[-2:]))
        return super().derain_tensor(x)


def _random_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(
        0, 256, (h, w, 3), dtype=np.uint8)


def _smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    base = 120 + 60 * np.sin(xx / 9.0)[..., None] + 40 * np.cos(
        yy / 7.0)[..., None] * np.array([1.0, -0.5, 0.3])
    noise = np.random.default_rng(seed).normal(0, 2, (h, w, 3))
    return np.clip(base + noise, 0, 255).round().astype(np.uint8)


def _write_png(path: str, img: np.ndarray) -> None:
    assert cv2.imwrite(path, img)


# --------------------------------------------------------------- derain_image
@pytest.mark.parametrize('tile,overlap', [(16, 4), (24, 8), (32, 0)])
def test_tiled_equals_whole_for_pointwise_model(tile, overlap):
    model = PointwiseDerainer()
    img = _random_image(45, 70)
    whole = derain_image(model, img)
    tiled = derain_image(model, img, tile=tile, tile_overlap=overlap)
    assert tiled.dtype == np.uint8 and tiled.shape == img.shape
    np.testing.assert_array_equal(whole, tiled)
    expected = np.round((img / 255. * 0.5 + 0.1) * 255)
    assert np.abs(whole.astype(float) - expected).max() <= 1


def test_tiled_close_to_whole_for_conv_model():
    model = BoxBlurDerainer(pad_multiple=4)
    img = _smooth_image(50, 66)
    whole = derain_image(model, img)
    tiled = derain_image(model, img, tile=24, tile_overlap=8)
    # only pixels next to tile borders differ, and only slightly
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert diff.max() <= 6
    assert diff.mean() < 0.5
    # tiles start at rows 0, 16, 26 and columns 0, 16, 32, 42: the corner
    # away from every tile border is identical
    np.testing.assert_array_equal(whole[:15, :15], tiled[:15, :15])


def test_tiles_stay_inside_image_and_cover_it():
    model = RecordingDerainer()
    x = torch.rand(1, 3, 50, 70)
    out = derain_tensor_tiled(model, x, tile=32, tile_overlap=8)
    # rows start at 0, 18; columns at 0, 24, 38: six full-size tiles
    assert model.shapes == [(32, 32)] * 6
    torch.testing.assert_close(out, model.derain_tensor(x))


class ContextDerainer(RecordingDerainer):
    """Records the image_context calls of tiled inference."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts = []
        self.inside = False

    @contextlib.contextmanager
    def image_context(self, x: torch.Tensor):
        self.contexts.append(tuple(x.shape[-2:]))
        self.inside = True
        try:
            yield
        finally:
            self.inside = False

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        assert self.inside or not self.contexts
        return super().derain_tensor(x)


def test_tiles_share_the_whole_image_context():
    model = ContextDerainer()
    derain_tensor_tiled(model, torch.rand(1, 3, 50, 70), 32, 8)
    assert model.contexts == [(50, 70)]  # once, for the whole image
    assert len(model.shapes) == 6 and not model.inside


def test_tile_clipped_to_short_side():
    model = RecordingDerainer()
    x = torch.rand(1, 3, 20, 70)
    derain_tensor_tiled(model, x, tile=32, tile_overlap=8)
    assert model.shapes == [(20, 32)] * 3


def test_tile_larger_than_image_runs_whole():
    model = RecordingDerainer()
    img = _random_image(20, 30)
    out = derain_image(model, img, tile=64, tile_overlap=32)
    assert model.shapes == [(20, 30)]
    np.testing.assert_array_equal(out, derain_image(PointwiseDerainer(), img))


def test_channel_order_round_trip():
    model = ChannelScaleDerainer()
    rgb = _random_image(8, 9)
    out_rgb = derain_image(model, rgb, channel_order='rgb')
    out_bgr = derain_image(model, rgb[..., ::-1].copy(), channel_order='BGR')
    np.testing.assert_array_equal(out_bgr[..., ::-1], out_rgb)
    # the model sees RGB: red kept, blue quartered
    np.testing.assert_array_equal(out_rgb[..., 0], rgb[..., 0])
    assert np.abs(out_rgb[..., 2] - rgb[..., 2] / 4).max() <= 0.5


def test_device_follows_model_parameters():
    model = BoxBlurDerainer()
    img = _random_image(6, 7)
    out = derain_image(model, img)
    assert out.shape == img.shape and out.dtype == np.uint8


@pytest.mark.parametrize('img', [
    np.zeros((8, 8, 3), np.float32),
    np.zeros((8, 8), np.uint8),
    np.zeros((8, 8, 4), np.uint8),
])
def test_derain_image_rejects_bad_arrays(img):
    with pytest.raises(ValueError, match='uint8'):
        derain_image(PointwiseDerainer(), img)


@pytest.mark.parametrize('kwargs,match', [
    (dict(channel_order='yuv'), 'channel_order'),
    (dict(tile=16, tile_overlap=16), 'tile_overlap'),
    (dict(tile=0), 'tile'),
])
def test_derain_image_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        derain_image(PointwiseDerainer(), _random_image(8, 8), **kwargs)


# --------------------------------------------------------------- derain_files
@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / 'rainy'
    folder.mkdir()
    for i, name in enumerate(['rain10.png', 'rain2.png', 'rain1.png']):
        _write_png(str(folder / name), _random_image(12, 16, seed=i))
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_collect_natural_order_and_dedup(image_dir):
    files = collect_image_files([
        str(image_dir),
        str(image_dir / 'rain1.png'),
        str(image_dir / 'rain1*')
    ])
    assert [osp.basename(f)
            for f in files] == ['rain1.png', 'rain2.png', 'rain10.png']


def test_derain_files_folder(image_dir, tmp_path):
    model = PointwiseDerainer()
    out_dir = tmp_path / 'out'
    outputs = derain_files(model, str(image_dir), str(out_dir))
    assert [osp.basename(p)
            for p in outputs] == ['rain1.png', 'rain2.png', 'rain10.png']
    for path in outputs:
        src = cv2.imread(str(image_dir / osp.basename(path)))
        np.testing.assert_array_equal(
            cv2.imread(path), derain_image(model, src, channel_order='bgr'))
    assert not (out_dir / 'compare').exists()


def test_derain_files_glob_and_compare(image_dir, tmp_path):
    out_dir = tmp_path / 'out'
    outputs = derain_files(
        PointwiseDerainer(),
        str(image_dir / 'rain1*.png'),
        str(out_dir),
        tile=8,
        tile_overlap=2,
        compare=True)
    assert [osp.basename(p) for p in outputs] == ['rain1.png', 'rain10.png']
    for path in outputs:
        side = cv2.imread(str(out_dir / 'compare' / osp.basename(path)))
        src = cv2.imread(str(image_dir / osp.basename(path)))
        assert side.shape == (12, 32, 3)
        np.testing.assert_array_equal(side[:, :16], src)
        np.testing.assert_array_equal(side[:, 16:], cv2.imread(path))


def test_derain_files_single_file_with_suffix(image_dir, tmp_path):
    outputs = derain_files(
        PointwiseDerainer(),
        str(image_dir / 'rain2.png'),
        str(tmp_path / 'out'),
        suffix='_derained')
    assert outputs == [str(tmp_path / 'out' / 'rain2_derained.png')]
    assert osp.isfile(outputs[0])


def test_derain_files_no_match(image_dir, tmp_path):
    pattern = str(image_dir / '*.jpg')
    with pytest.raises(FileNotFoundError, match=r'\*\.jpg'):
        derain_files(PointwiseDerainer(), pattern, str(tmp_path / 'out'))
    with pytest.raises(FileNotFoundError, match='missing.png'):
        derain_files(PointwiseDerainer(), str(image_dir / 'missing.png'),
                     str(tmp_path / 'out'))


@pytest.mark.parametrize('content', [b'', b'definitely not a png'])
def test_derain_files_unreadable_image(image_dir, tmp_path, content):
    (image_dir / 'broken.png').write_bytes(content)
    with pytest.raises(OSError, match='broken.png'):
        derain_files(PointwiseDerainer(), str(image_dir),
                     str(tmp_path / 'out'))


def test_derain_files_refuses_to_overwrite_input(image_dir):
    with pytest.raises(ValueError, match='overwrite'):
        derain_files(PointwiseDerainer(), str(image_dir), str(image_dir))


def test_derain_files_refuses_name_clash(image_dir, tmp_path):
    other = tmp_path / 'other'
    other.mkdir()
    _write_png(str(other / 'rain1.png'), _random_image(4, 4))
    with pytest.raises(ValueError, match='rain1.png'):
        derain_files(PointwiseDerainer(),
                     [str(image_dir), str(other / 'rain1.png')],
                     str(tmp_path / 'out'))


class OutOfMemoryDerainer(PointwiseDerainer):
    """Runs out of (CPU) memory on inputs larger than ``limit`` pixels."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] * x.shape[-1] > self.limit:
            raise RuntimeError(
                '[enforce fail at alloc_cpu.cpp:117] data. '
                "DefaultCPUAllocator: can't allocate memory: you tried to "
                'allocate 288000000000 bytes. Error code 12 (Cannot allocate '
                'memory)')
        return super().derain_tensor(x)


def test_derain_files_out_of_memory_names_file_and_tile(image_dir, tmp_path):
    big = image_dir / 'big.png'
    _write_png(str(big), _random_image(20, 30))
    with pytest.raises(MemoryError) as info:
        derain_files(
            OutOfMemoryDerainer(limit=400), str(big), str(tmp_path / 'out'))
    message = str(info.value)
    assert str(big) in message and '30x20 pixels' in message
    assert 'DefaultCPUAllocator' in message and '--tile 512' in message
    # already tiled: a smaller tile is suggested
    with pytest.raises(MemoryError, match='--tile 8 --tile-overlap 2'):
        derain_files(
            OutOfMemoryDerainer(limit=100),
            str(big),
            str(tmp_path / 'out'),
            tile=16,
            tile_overlap=8)
    # tiles that fit avoid the error
    out, = derain_files(
        OutOfMemoryDerainer(limit=400),
        str(big),
        str(tmp_path / 'out'),
        tile=16,
        tile_overlap=4)
    assert cv2.imread(out).shape == (20, 30, 3)


def test_derain_files_other_runtime_errors_propagate(image_dir, tmp_path):

    class Broken(PointwiseDerainer):

        def derain_tensor(self, x):
            raise RuntimeError('shape mismatch in layer 3')

    with pytest.raises(RuntimeError, match='layer 3'):
        derain_files(
            Broken(),
            str(image_dir),
            str(tmp_path / 'out'),
            on_error=lambda path, err: None)


def test_derain_files_skips_failures_with_on_error(image_dir, tmp_path):
    (image_dir / 'broken.png').write_bytes(b'not a png')
    _write_png(str(image_dir / 'rain3.png'), _random_image(30, 30))
    failures = []
    outputs = derain_files(
        OutOfMemoryDerainer(limit=500),
        str(image_dir),
        str(tmp_path / 'out'),
        on_error=lambda path, err: failures.append((path, err)))
    assert [osp.basename(p)
            for p in outputs] == ['rain1.png', 'rain2.png', 'rain10.png']
    assert all(osp.isfile(p) for p in outputs)
    assert [(osp.basename(p), type(e))
            for p, e in failures] == [('broken.png', OSError),
                                      ('rain3.png', MemoryError)]
    assert not (tmp_path / 'out' / 'broken.png').exists()


def test_derain_files_writes_png_by_default(tmp_path):
    src = tmp_path / 'photo.JPG'
    img = _smooth_image(12, 16)
    assert cv2.imwrite(str(src), img)
    decoded = cv2.imread(str(src))
    model = PointwiseDerainer()
    out, = derain_files(model, str(src), str(tmp_path / 'out'), compare=True)
    assert out == str(tmp_path / 'out' / 'photo.png')
    expected = derain_image(model, decoded, channel_order='bgr')
    np.testing.assert_array_equal(cv2.imread(out), expected)  # lossless
    assert (tmp_path / 'out' / 'compare' / 'photo.png').is_file()
    # another format on request, or the input's
    out, = derain_files(model, str(src), str(tmp_path / 'jpg'), ext='jpg')
    assert out == str(tmp_path / 'jpg' / 'photo.jpg')
    out, = derain_files(model, str(src), str(tmp_path / 'same'), ext=None)
    assert out == str(tmp_path / 'same' / 'photo.JPG')
    with pytest.raises(ValueError, match="'.gif'"):
        derain_files(model, str(src), str(tmp_path / 'gif'), ext='.gif')


def test_derain_files_png_outputs_of_jpg_and_png_inputs_clash(tmp_path):
    for name in ('a.jpg', 'a.png'):
        assert cv2.imwrite(str(tmp_path / name), _random_image(8, 8))
    with pytest.raises(ValueError) as info:
        derain_files(PointwiseDerainer(), str(tmp_path), str(tmp_path / 'o'))
    assert 'a.jpg' in str(info.value) and 'a.png' in str(info.value)
    assert not (tmp_path / 'o').exists()  # nothing written


# -------------------------------------------------------------- init_derainer
class _TinyRegisteredDerainer(BoxBlurDerainer):
    """Box blur registered in mmderain's MODELS for ``init_derainer``."""


def _tiny_config():
    from mmderain.registry import MODELS
    MODELS.register_module(
        name='_ApiTestDerainer', module=_TinyRegisteredDerainer, force=True)
    return Config(dict(model=dict(type='_ApiTestDerainer', pad_multiple=2)))


def test_init_derainer_loads_checkpoint(tmp_path):
    cfg = _tiny_config()
    state = _TinyRegisteredDerainer().state_dict()
    state['conv.weight'] = torch.full_like(state['conv.weight'], 0.25)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    model = init_derainer(cfg, ckpt, cfg_options={'model.pad_multiple': 4})
    assert not model.training
    assert model.pad_multiple == 4
    assert model.cfg.model.pad_multiple == 4
    assert cfg.model.pad_multiple == 2  # the given config is not modified
    assert torch.all(model.conv.weight == 0.25)


def test_init_derainer_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope_cfg.py'):
        init_derainer(str(tmp_path / 'nope_cfg.py'))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_derainer(_tiny_config(), str(tmp_path / 'nope.pth'))
    with pytest.raises(TypeError):
        init_derainer(dict(model=dict(type='_ApiTestDerainer')))


class NaNDerainer(PointwiseDerainer):
    """Outputs NaN: what a diverged model does."""

    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        return x * float('nan')


def test_non_finite_output_writes_no_image(image_dir, tmp_path):
    with pytest.raises(FloatingPointError, match='NaN or infinite'):
        derain_image(NaNDerainer(), _random_image(8, 8))
    failures = []
    outputs = derain_files(
        NaNDerainer(),
        str(image_dir / 'rain1.png'),
        str(tmp_path / 'out'),
        on_error=lambda path, err: failures.append((path, err)))
    assert outputs == [] and not (tmp_path / 'out' / 'rain1.png').exists()
    (path, err), = failures
    assert path.endswith('rain1.png') and 'rain1.png' in str(err)
