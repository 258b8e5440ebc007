# Copyright (c) mmderain contributors. All rights reserved.
"""tools/rain2avoid/crop.py and ldgp.py on tiny folders: outputs, names,
bad files reported by name, exit status; with MMDERAIN_DATA the two tools
in a row give the official masks."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmderain.ops import ldgp
from tests._helpers import run_tool


def _streaky(height, width, seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 120, (height, width, 3), dtype=np.uint8)
    for col in range(3, width, 9):
        img[5:height - 5, col] = 230
    return img


def _write_bad(folder):
    """An unreadable image (``bad.png``) and one of 12x12 (``small.png``)."""
    with open(osp.join(folder, 'bad.png'), 'wb') as f:
        f.write(b'not a png')
    cv2.imwrite(osp.join(folder, 'small.png'), _streaky(12, 12, 9))


def test_crop_tool(tmp_path, capsys):
    src, out = tmp_path / 'in', tmp_path / 'out'
    src.mkdir()
    imgs = {
        'norain-1.png': _streaky(37, 50, 1),
        'norain-2.png': _streaky(48, 33, 2),
        'other.png': _streaky(16, 17, 3),
    }
    for name, img in imgs.items():
        cv2.imwrite(str(src / name), img)
    deep = (np.arange(20 * 21 * 4).reshape(20, 21, 4) * 37).astype(np.uint16)
    cv2.imwrite(str(src / 'norain-3.png'), deep)  # 16-bit BGRA
    _write_bad(str(src))
    argv = [str(src), str(out), '--strip-prefix', 'norain-']
    status = run_tool('rain2avoid/crop.py', argv + ['--multiple', '16'])
    assert status == 1
    assert sorted(os.listdir(out)) == ['1.png', '2.png', '3.png', 'other.png']
    for name, crop_name, shape in [('norain-1.png', '1.png', (32, 48)),
                                   ('norain-2.png', '2.png', (48, 32)),
                                   ('other.png', 'other.png', (16, 16))]:
        got = cv2.imread(str(out / crop_name), cv2.IMREAD_UNCHANGED)
        assert got.shape[:2] == shape
        np.testing.assert_array_equal(got, imgs[name][:shape[0], :shape[1]])
    got = cv2.imread(str(out / '3.png'), cv2.IMREAD_UNCHANGED)
    assert got.dtype == np.uint16  # depth and alpha kept
    np.testing.assert_array_equal(got, deep[:16, :16])
    captured = capsys.readouterr()
    assert 'norain-1.png ->' in captured.out
    assert '4 of 6 image(s) done' in captured.out
    assert f'crops in {out}' in captured.out
    assert 'bad.png: cannot read image' in captured.err
    assert 'small.png: Image size 12x12 (HxW) is smaller' in captured.err
    assert '2 image(s) failed' in captured.err


def test_ldgp_tool(tmp_path, capsys):
    src, out = tmp_path / 'in', tmp_path / 'masks'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), _streaky(96, 100, 1))
    cv2.imwrite(str(src / 'b.jpg'), _streaky(90, 120, 2))
    cv2.imwrite(str(src / 'c.PNG'), _streaky(40, 41, 3))
    _write_bad(str(src))
    status = run_tool('rain2avoid/ldgp.py',
                      [str(src), str(out), '--patch-size', '40'])
    assert status == 1
    # .png names kept, other images: stem + .png; no temporary file left
    assert sorted(os.listdir(out)) == ['a.png', 'b.png', 'c.PNG']
    for name, mask_name in [('a.png', 'a.png'), ('b.jpg', 'b.png'),
                            ('c.PNG', 'c.PNG')]:
        mask = cv2.imread(str(out / mask_name), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and mask.ndim == 2
        np.testing.assert_array_equal(
            mask, ldgp(cv2.imread(str(src / name)), patch_size=40))
    captured = capsys.readouterr()
    assert f'a.png -> {out / "a.png"}' in captured.out
    assert '3 of 5 image(s) done' in captured.out
    assert f'masks in {out}' in captured.out
    assert 'bad.png: cannot read image' in captured.err
    assert 'small.png: LDGP needs an image of at least one 40x40' in (
        captured.err)
    # the defaults: a.png (96x100) holds one 80x80 patch, b.jpg too
    assert run_tool('rain2avoid/ldgp.py', [str(src), str(out)]) == 1
    np.testing.assert_array_equal(
        cv2.imread(str(out / 'a.png'), cv2.IMREAD_UNCHANGED),
        ldgp(cv2.imread(str(src / 'a.png'))))


@pytest.mark.parametrize('tool', ['crop.py', 'ldgp.py'])
def test_tools_refuse_bad_folders(tool, tmp_path, capsys):
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'x.png'), _streaky(96, 96, 0))
    assert run_tool(f'rain2avoid/{tool}', [str(src), str(src)]) == 2
    assert 'is INPUT_DIR' in capsys.readouterr().err
    assert os.listdir(src) == ['x.png']
    missing = [str(tmp_path / 'none'), str(tmp_path / 'out')]
    assert run_tool(f'rain2avoid/{tool}', missing) == 2
    assert 'Input folder not found' in capsys.readouterr().err
    # two inputs, one output name: nothing is written
    cv2.imwrite(str(src / 'x.jpg'), _streaky(96, 96, 0))
    cv2.imwrite(str(src / 'norain-x.png'), _streaky(96, 96, 0))
    argv = [str(src), str(tmp_path / 'out')]
    if tool == 'crop.py':
        argv += ['--strip-prefix', 'norain-']
    assert run_tool(f'rain2avoid/{tool}', argv) == 2
    assert 'would both be written to x.png' in capsys.readouterr().err
    assert not osp.exists(tmp_path / 'out')


def test_tools_give_the_official_masks(data_root, tmp_path):
    rain = osp.join(data_root, 'rain100l', 'test', 'rain')
    official = osp.join(data_root, 'rain2avoid', 'ldgp_official')
    src = tmp_path / 'rain'
    src.mkdir()
    for n in (1, 22, 40):  # 22, 40: tied angle votes
        path = osp.join(rain, f'norain-{n}.png')
        if not osp.isfile(path):
            pytest.fail(f'missing {path}')
        os.symlink(path, src / f'norain-{n}.png')
    crops, masks = str(tmp_path / 'input'), str(tmp_path / 'ldgp')
    argv = [str(src), crops, '--strip-prefix', 'norain-']
    assert run_tool('rain2avoid/crop.py', argv) == 0
    assert run_tool('rain2avoid/ldgp.py', [crops, masks]) == 0
    for n in (1, 22, 40):
        ours = cv2.imread(osp.join(masks, f'{n}.png'), cv2.IMREAD_UNCHANGED)
        ref = cv2.imread(osp.join(official, f'{n}.png'), cv2.IMREAD_UNCHANGED)
        assert ours.shape == ref.shape == (320, 480)
        assert np.array_equal(ours, ref), f'{n}.png differs'
