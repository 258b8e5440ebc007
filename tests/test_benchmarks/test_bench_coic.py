# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_coic.py: a tiny run of the modulated-convolution
benchmark, and of the end-to-end CoIC-BRN step."""
import pytest

from mmderain.ops import modulated_conv as mc
from tests._helpers import load_benchmark

ARGV = ['--batch', '2', '--channels', '4', '--size', '6', '--warmup', '0']
IMPLS = ('loop', 'batched', 'ours', 'plain')


def _times(prefix, names):
    return {
        f'{prefix}_{name}_s{end}'
        for name in names for end in ('', '_min', '_max')
    }


@pytest.mark.parametrize('groups', [1, 4])
def test_op_benchmark_agrees_and_reports_five_runs(groups, capsys):
    result = load_benchmark('bench_coic').main(
        ARGV + ['--groups', str(groups)])
    assert set(result) == {
        'max_abs_diff', 'max_abs_grad_diff', 'runs', 'fwd_loop_over_ours',
        'fwd_batched_over_ours', 'fwd_bwd_loop_over_ours',
        'fwd_bwd_batched_over_ours', 'saved_bytes_loop', 'saved_bytes_batched',
        'saved_bytes_ours', 'saved_bytes_batched_over_ours'
    } | _times('fwd', IMPLS) | _times('fwd_bwd', IMPLS)
    # the three implementations compute the same outputs and gradients
    assert result['max_abs_diff'] <= 1e-5
    assert result['max_abs_grad_diff'] <= 1e-5
    assert result['runs'] == 5  # the default: median of 5 timed runs
    for mode in ('fwd', 'fwd_bwd'):
        for name in IMPLS:
            key = f'{mode}_{name}_s'
            assert result[key + '_min'] <= result[key] <= result[key + '_max']
        assert result[f'{mode}_loop_over_ours'] == pytest.approx(
            result[f'{mode}_loop_s'] / result[f'{mode}_ours_s'])
    # ours keeps exactly x, W and the three modulation vectors (float32)
    b, c, s, k, cg = 2, 4, 6, 3, 4 // groups
    assert result['saved_bytes_ours'] == 4 * (
        b * c * s * s + c * cg * k * k + b * (c + cg + k * k))
    assert result['saved_bytes_batched'] > result['saved_bytes_ours']
    assert 'e2e_coic_s' not in result
    out = capsys.readouterr().out
    assert 'ratio loop/ours' in out and 'saved for backward' in out
    assert 'median (min-max) of 5 runs' in out


def test_op_benchmark_fails_on_a_wrong_gradient(monkeypatch):
    """Same forward, backward 1% off: the gradient check stops the run."""
    exact = mc.instance_modulated_conv2d

    def wrong_backward(*args, **kwargs):
        out = exact(*args, **kwargs)
        return out + 0.01 * (out - out.detach())

    monkeypatch.setattr(mc, 'instance_modulated_conv2d', wrong_backward)
    with pytest.raises(AssertionError, match='gradients by'):
        load_benchmark('bench_coic').main(ARGV + ['--repeats', '1'])


def test_end_to_end_step(capsys):
    result = load_benchmark('bench_coic').main(ARGV + [
        '--repeats', '1', '--end-to-end', '--e2e-batch', '2', '--e2e-size',
        '16', '--e2e-iters', '1', '--e2e-negatives', '2'
    ])
    e2e = {key for key in result if key.startswith('e2e_')}
    assert e2e == {
        'e2e_warmup_max_abs_diff', 'e2e_warmup_over_brn', 'e2e_coic_over_brn'
    } | _times('e2e', ('brn', 'warmup', 'coic'))
    # CoIC-BRN before its warm-up ends (no code) is the plain BRN
    assert result['e2e_warmup_max_abs_diff'] <= 1e-5
    assert result['e2e_coic_over_brn'] == pytest.approx(result['e2e_coic_s'] /
                                                        result['e2e_brn_s'])
    assert 'CoIC-BRN' in capsys.readouterr().out
