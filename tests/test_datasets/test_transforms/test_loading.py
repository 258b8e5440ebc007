# Copyright (c) mmderain contributors. All rights reserved.
import cv2
import numpy as np
import pytest
from mmagic.datasets.transforms import LoadImageFromFile as MMagicLoad
from mmengine.registry import TRANSFORMS as ROOT_TRANSFORMS
from mmengine.registry import init_default_scope

from mmderain.datasets.transforms import LoadImageFromFile
from mmderain.registry import TRANSFORMS


@pytest.fixture
def png(tmp_path):
    """A valid 6x5 BGR PNG, pure red."""
    img = np.zeros((6, 5, 3), np.uint8)
    img[..., 2] = 255
    path = tmp_path / 'red.png'
    assert cv2.imwrite(str(path), img)
    return path


def test_loads_like_mmagic(png):
    load = LoadImageFromFile(key='gt', channel_order='rgb')
    results = load(dict(gt_path=str(png)))
    assert results['gt'].shape == (6, 5, 3)
    assert results['gt'].dtype == np.uint8
    assert (results['gt'][..., 0] == 255).all()  # rgb
    assert results['ori_gt_shape'] == (6, 5, 3)
    load = LoadImageFromFile(key='img', to_float32=True)
    results = load(dict(img_path=str(png)))
    assert results['img'].dtype == np.float32
    assert results['img'][0, 0].tolist() == [0, 0, 255]  # bgr


def test_registered_under_the_same_name():
    assert issubclass(LoadImageFromFile, MMagicLoad)
    cfg = dict(type='LoadImageFromFile', key='img')
    assert type(TRANSFORMS.build(cfg)) is LoadImageFromFile
    init_default_scope('mmderain')
    assert type(ROOT_TRANSFORMS.build(cfg)) is LoadImageFromFile


def test_missing_file(tmp_path):
    path = tmp_path / 'nope.png'
    with pytest.raises(FileNotFoundError, match='nope.png') as exc:
        LoadImageFromFile(key='img')(dict(img_path=str(path)))
    assert "'img'" in str(exc.value)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(OSError, match=str(tmp_path)):
        LoadImageFromFile(key='gt')(dict(gt_path=str(tmp_path)))


@pytest.mark.parametrize('content', ['garbage', 'truncated', 'empty'])
@pytest.mark.parametrize('backend', [None, 'pillow'])
@pytest.mark.parametrize('channel_order', ['bgr', 'rgb'])
def test_corrupt_file(tmp_path, png, content, backend, channel_order):
    data = png.read_bytes()
    data = dict(
        garbage=b'this is not an image at all',
        truncated=data[:len(data) // 2],
        empty=b'')[content]
    path = tmp_path / f'{content}.png'
    path.write_bytes(data)
    load = LoadImageFromFile(
        key='gt', imdecode_backend=backend, channel_order=channel_order)
    with pytest.raises(OSError) as exc:
        load(dict(gt_path=str(path)))
    assert str(path) in str(exc.value)
    assert not isinstance(exc.value, FileNotFoundError)


def test_repr():
    assert repr(
        LoadImageFromFile(key='gt')).startswith('LoadImageFromFile(key=gt')


def test_cache_decoded(tmp_path):
    path = str(tmp_path / 'a.png')
    first = np.random.default_rng(0).integers(0, 256, (6, 7, 3), np.uint8)
    cv2.imwrite(path, first)
    cached = LoadImageFromFile(key='img', cache_decoded=True)
    plain = LoadImageFromFile(key='img')
    out = cached(dict(img_path=path))['img']
    np.testing.assert_array_equal(out, first)
    out[:] = 0  # a later transform flips or crops in place
    cv2.imwrite(path, first[::-1].copy())  # the file changes on disk
    # the cached decode is returned (and was not touched by the caller) ...
    np.testing.assert_array_equal(cached(dict(img_path=path))['img'], first)
    # ... a loader without the cache decodes the file again
    np.testing.assert_array_equal(
        plain(dict(img_path=path))['img'], first[::-1])
