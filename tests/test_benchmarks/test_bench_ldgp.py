# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_ldgp.py: on a small synthetic image the port of the
official script (with its plt.bar drawing) and ours give the same mask; a
wrong angle in ours stops the run."""
import importlib
import os.path as osp

import numpy as np
import pytest

from tests._helpers import load_benchmark

pytest.importorskip('matplotlib')

ARGV = [
    '--size', '100', '130', '--patch-size', '32', '--official-warmup', '0',
    '--warmup', '0'
]


def test_bench_ldgp_tiny(capsys):
    result = load_benchmark('bench_ldgp').main(ARGV)
    assert set(result) == {
        'height', 'width', 'angle', 'official_s', 'ours_s', 'ours_s_min',
        'ours_s_max', 'runs', 'time_ratio', 'mask_diff_pixels'
    }
    # cropped to multiples of 16; the streaks' gradient angle is 160
    assert (result['height'], result['width']) == (96, 128)
    assert abs(result['angle'] - 160) <= 5
    assert result['mask_diff_pixels'] == 0
    assert result['runs'] == 5
    assert result['ours_s_min'] <= result['ours_s'] <= result['ours_s_max']
    assert result['time_ratio'] == pytest.approx(result['official_s'] /
                                                 result['ours_s'])
    out = capsys.readouterr().out
    assert 'masks equal' in out and 'median (min-max) of 5 runs' in out


def test_port_draws_like_the_official_script():
    """One bar chart per patch, cleared after each: the drawing cost."""
    import matplotlib.pyplot as plt
    bench = load_benchmark('bench_ldgp')
    img = bench.synthetic_rainy_image(64, 96)
    bench.official_ldgp(img, 32)
    assert plt.gcf().get_size_inches().tolist() == [9.8, 9]
    assert not plt.gca().patches  # plt.cla() after the last bar chart


def test_bench_ldgp_fails_on_a_wrong_angle(monkeypatch):
    ops = importlib.import_module('mmderain.ops.ldgp')
    monkeypatch.setattr(ops, 'most_frequent', lambda angles: angles[0] + 5)
    with pytest.raises(AssertionError, match='masks differ'):
        load_benchmark('bench_ldgp').main(ARGV + ['--repeats', '1'])


def _stand_in_script(root, offset):
    """``root/Rain2Avoid(Single)/ldgp.py`` that, like the official one,
    parses the command line at import; its ``hog`` is the benchmark's port
    plus ``offset`` bins."""
    folder = root / 'Rain2Avoid(Single)'
    folder.mkdir(parents=True)
    bench_file = osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
        'benchmarks', 'bench_ldgp.py')
    (folder / 'ldgp.py').write_text(f'''
import argparse, importlib.util
parser = argparse.ArgumentParser()
parser.add_argument('--patch_size', type=int, default=80)
opt = parser.parse_args()
spec = importlib.util.spec_from_file_location('_b', {bench_file!r})
b = importlib.util.module_from_spec(spec)
spec.loader.exec_module(b)


def hog(img, show=True, save=''):
    assert show is False and save == ''
    return b.official_hog_bin(img) + {offset}


most_frequent = b.official_mode
rotate = b.official_rotate
''')
    return str(root)


def test_bench_ldgp_imports_an_official_script(tmp_path, capsys):
    """--official-repo: the script's hog/most_frequent/rotate are used (a
    stand-in script here, built on the benchmark's ports)."""
    bench = load_benchmark('bench_ldgp')
    result = bench.main(ARGV + [
        '--official-repo',
        _stand_in_script(tmp_path / 'good', 0), '--repeats', '1'
    ])
    assert result['mask_diff_pixels'] == 0
    assert 'official code (' in capsys.readouterr().out
    # its hog is what runs: one bin more is another mask
    with pytest.raises(AssertionError, match='masks differ'):
        bench.main(ARGV + [
            '--official-repo',
            _stand_in_script(tmp_path / 'bad', 1), '--repeats', '1'
        ])
    with pytest.raises(FileNotFoundError, match='--official-repo'):
        bench.main(ARGV + ['--official-repo', str(tmp_path / 'nope')])


def test_synthetic_image_is_seeded():
    bench = load_benchmark('bench_ldgp')
    a = bench.synthetic_rainy_image(48, 64, seed=3)
    assert a.shape == (48, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, bench.synthetic_rainy_image(48, 64, 3))
