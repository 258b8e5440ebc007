# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_nss.py: a tiny synthetic run (the official loops, ported,
agree with ours) and the loading of the real official functions."""
import numpy as np

from tests._helpers import load_benchmark

ARGV = ['--synthetic', '10x12', '--warmup', '0', '--num', '8']


def test_main_reports_equal_outputs_and_five_runs(capsys):
    result = load_benchmark('bench_nss').main(ARGV)
    assert set(result) == {
        'equal', 'official_s', 'ours_s', 'ours_s_min', 'ours_s_max', 'runs',
        'official_over_ours', 'replaced', 'threads', 'official_source'
    }
    assert result['equal'] is True
    assert result['runs'] == 5  # the default: median of 5 timed runs
    assert result['ours_s_min'] <= result['ours_s'] <= result['ours_s_max']
    assert result['official_over_ours'] == (
        result['official_s'] / result['ours_s'])
    assert result['official_source'] == 'port of sdr.py'
    assert result['replaced'] > 20
    out = capsys.readouterr().out
    assert 'synthetic 10x12' in out and 'one run' in out
    assert 'median (min-max) of 5 runs' in out
    assert 'ratio official/ours' in out
    assert 'outputs equal (references and fused): True' in out


def test_port_keeps_pixels_without_candidates():
    bench = load_benchmark('bench_nss')
    image = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    ldgp = np.full((5, 6), 255, np.uint8)
    ldgp[0, 0] = 0  # the only rain-free pixel
    out = bench.official_nss(image, ldgp, num=3)
    assert out.dtype == np.float64 and out.shape == (3, 5, 6, 3)
    near = np.zeros((5, 6), bool)
    near[:4, :4] = True  # within 3 of (0, 0): replaced by it
    assert (out[:, near] == image[0, 0]).all()
    assert (out[:, ~near] == image[~near]).all()


def test_official_functions_load_without_running_the_script(tmp_path):
    script = tmp_path / 'Rain2Avoid(Single)' / 'sdr.py'
    script.parent.mkdir()
    script.write_text('import numpy as np\n'
                      'raise SystemExit("the script body must not run")\n'
                      'def compute_similarity(rainy, ldgp, j, i):\n'
                      '    return opt.K, opt.k, opt.pow, np.pi\n')
    fn = load_benchmark('bench_nss').load_official_similarity(
        str(tmp_path), 1.0, 5, 3)
    assert fn(None, None, 0, 0) == (5, 3, 1.0, np.pi)
