# Copyright (c) mmderain contributors. All rights reserved.
"""tools/rain2avoid/nss.py on tiny files: the layout and contents of its
outputs, bad masks reported by name (exit 1, the others done), refused
command lines (exit 2)."""
import os

import cv2
import numpy as np
import torch

from mmderain.ops import fuse_sdrs, nss
from tests._helpers import run_tool


def _write_inputs(root, names, with_mask):
    rng = np.random.default_rng(0)
    (root / 'input').mkdir()
    (root / 'ldgp').mkdir()
    images = {}
    for name in names:
        stem = os.path.splitext(name)[0]
        image = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
        ldgp = np.where(rng.random((9, 11)) < 0.3, 255, 0).astype(np.uint8)
        cv2.imwrite(str(root / 'input' / name), image)
        if stem in with_mask:
            cv2.imwrite(str(root / 'ldgp' / f'{stem}.png'), ldgp)
        images[stem] = image, ldgp
    return images


def test_outputs_and_a_missing_mask(tmp_path, capsys):
    images = _write_inputs(
        tmp_path, ['a.png', 'b.bmp', 'c.png'], with_mask={'a', 'b'})
    out = tmp_path / 'out'
    argv = [
        str(tmp_path / 'input'),
        str(tmp_path / 'ldgp'),
        str(out), '--num', '4', '--eta', '1'
    ]
    assert run_tool('rain2avoid/nss.py', argv) == 1
    captured = capsys.readouterr()
    # the missing mask is named; the other images are done
    assert 'c.png: FAILED: LDGP mask of c.png not found' in captured.err
    assert str(tmp_path / 'ldgp' / 'c.png') in captured.err
    assert '1 image(s) failed' in captured.err
    assert f'[1/3] a.png -> 4 references in {out / "a"}/, ' \
        f'{out / "fused" / "a.png"}; ' in captured.out
    assert 'pixels to replace' in captured.out
    assert '2 of 3 image(s) done' in captured.out
    assert sorted(os.listdir(out)) == ['a', 'b', 'fused']
    assert sorted(os.listdir(out / 'fused')) == ['a.png', 'b.png']
    for stem in ('a', 'b'):
        image, ldgp = images[stem]
        assert sorted(os.listdir(out / stem)) == [f'{k}.png' for k in range(4)]
        expected = nss(image, ldgp, num=4, eta=1.0)
        written = np.stack([
            cv2.imread(str(out / stem / f'{k}.png'), cv2.IMREAD_UNCHANGED)
            for k in range(4)
        ])
        np.testing.assert_array_equal(written, expected)
        assert (written != image).any()  # rain pixels were replaced
        np.testing.assert_array_equal(
            cv2.imread(str(out / 'fused' / f'{stem}.png')),
            fuse_sdrs(expected))
    # no temporary file is left behind
    assert not [n for n in os.listdir(out / 'a') if n.startswith('.')]


def test_all_done_exits_0_and_out_dir_must_differ(tmp_path, capsys):
    _write_inputs(tmp_path, ['a.png'], with_mask={'a'})
    argv = [str(tmp_path / 'input'), str(tmp_path / 'ldgp')]
    assert run_tool('rain2avoid/nss.py',
                    argv + [str(tmp_path / 'out'), '--num', '2']) == 0
    assert sorted(os.listdir(tmp_path / 'out' / 'a')) == ['0.png', '1.png']
    assert run_tool('rain2avoid/nss.py', argv + [str(tmp_path / 'input')]) \
        == 2
    assert 'OUT_DIR is INPUT_DIR' in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / 'input')) == ['a.png']


def test_natural_order_bad_mask_size_and_refusals(tmp_path, capsys):
    _write_inputs(tmp_path, ['10.png', '2.png'], with_mask={'2', '10'})
    cv2.imwrite(str(tmp_path / 'ldgp' / '10.png'), np.zeros((8, 11), np.uint8))
    inputs, ldgp = str(tmp_path / 'input'), str(tmp_path / 'ldgp')
    out = str(tmp_path / 'out')
    assert run_tool('rain2avoid/nss.py',
                    [inputs, ldgp, out, '--num', '2']) == 1
    captured = capsys.readouterr()
    assert '[1/2] 2.png ->' in captured.out  # natural order: 2 before 10
    assert '[2/2] 10.png: FAILED: LDGP mask' in captured.err
    assert f'10.png is 8x11, image {inputs}' in captured.err
    assert sorted(os.listdir(tmp_path / 'out')) == ['2', 'fused']
    assert run_tool('rain2avoid/nss.py', [inputs, ldgp, ldgp]) == 2
    assert 'OUT_DIR is LDGP_DIR' in capsys.readouterr().err
    if not torch.cuda.is_available():
        argv = [inputs, ldgp, str(tmp_path / 'cuda'), '--device', 'cuda']
        assert run_tool('rain2avoid/nss.py', argv) == 2
        assert 'CUDA is not available' in capsys.readouterr().err
        assert not os.path.exists(tmp_path / 'cuda')
