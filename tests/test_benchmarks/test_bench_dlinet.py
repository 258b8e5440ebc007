# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_dlinet.py: a tiny run checks agreement and reports the
median and range of its timed runs."""
import pytest

from mmderain.models.editors.dlinet.dlinet_net import CollaborativeFusion
from tests._helpers import load_benchmark

ARGV = [
    '--batch', '1', '--size', '16', '--num-masks', '2', '--num-blocks', '1',
    '--channels', '4', '--warmup', '0'
]


def _times(prefix):
    return {
        f'{prefix}_{name}_s{end}'
        for name in ('official', 'ours') for end in ('', '_min', '_max')
    }


def test_bench_dlinet_tiny(capsys):
    result = load_benchmark('bench_dlinet').main(ARGV)
    assert set(result) == {
        'fusion_max_abs_diff', 'fusion_max_abs_grad_diff', 'runs',
        'fusion_time_ratio', 'fusion_saved_bytes_official',
        'fusion_saved_bytes_ours', 'fusion_saved_bytes_ratio',
        'network_max_abs_diff', 'network_time_ratio'
    } | _times('fusion') | _times('network')
    # the official dataflow and ours: same outputs and gradients
    assert result['fusion_max_abs_diff'] < 1e-9
    assert result['fusion_max_abs_grad_diff'] < 1e-9
    assert result['network_max_abs_diff'] < 1e-5
    assert result['runs'] == 5  # the default: median of 5 timed runs
    for part in ('fusion', 'network'):
        for name in ('official', 'ours'):
            key = f'{part}_{name}_s'
            assert result[key + '_min'] <= result[key] <= result[key + '_max']
        assert result[f'{part}_time_ratio'] == pytest.approx(
            result[f'{part}_official_s'] / result[f'{part}_ours_s'])
    # ours keeps less for the backward pass than the official loop
    assert (result['fusion_saved_bytes_ours'] <
            result['fusion_saved_bytes_official'])
    out = capsys.readouterr().out
    assert 'fusion fwd+bwd' in out and 'saved for backward' in out
    assert 'median (min-max) of 5 runs' in out


def test_bench_dlinet_fails_on_a_wrong_gradient(monkeypatch):
    """Same fused output, backward 1% off: the agreement check stops it."""
    exact = CollaborativeFusion.forward

    def wrong_backward(self, streaks, masks):
        out = exact(self, streaks, masks)
        return out + 0.01 * (out - out.detach())

    monkeypatch.setattr(CollaborativeFusion, 'forward', wrong_backward)
    with pytest.raises(AssertionError, match='gradients by'):
        load_benchmark('bench_dlinet').main(
            ARGV + ['--repeats', '1', '--skip-network'])
