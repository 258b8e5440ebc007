# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_dark_channel.py: a tiny run (the official MaxPool3d
DCLoss and ours agree bit for bit); a wrong gradient stops the run."""
import pytest

from mmderain.models.losses import dark_channel_loss
from tests._helpers import load_benchmark

ARGV = ['--size', '12', '15', '--patch-size', '8', '--warmup', '0']


def test_bench_dark_channel_tiny(capsys):
    result = load_benchmark('bench_dark_channel').main(ARGV)
    times = {
        f'{mode}_{name}_s{end}'
        for mode in ('fwd', 'fwd_bwd') for name in ('official', 'ours')
        for end in ('', '_min', '_max')
    }
    assert set(result) == {
        'loss', 'runs', 'fwd_official_over_ours', 'fwd_bwd_official_over_ours'
    } | times
    assert result['runs'] == 5
    # values in [0, 1]: each of the 2 x 13 x 16 outputs is in [0, 0.5]
    assert -0.5 * 2 * 13 * 16 <= result['loss'] < -0.4 * 2 * 13 * 16
    for mode in ('fwd', 'fwd_bwd'):
        key = f'{mode}_ours_s'
        assert result[key + '_min'] <= result[key] <= result[key + '_max']
        assert result[f'{mode}_official_over_ours'] == pytest.approx(
            result[f'{mode}_official_s'] / result[key])
    out = capsys.readouterr().out
    assert 'bit-equal' in out and 'median (min-max) of 5 runs' in out


def test_bench_dark_channel_fails_on_a_wrong_gradient(monkeypatch):
    exact = dark_channel_loss.max_filter

    def off(x, *args):
        out = exact(x, *args)
        return out + 1e-3 * (out - out.detach())

    monkeypatch.setattr(dark_channel_loss, 'max_filter', off)
    with pytest.raises(AssertionError, match='gradients differ'):
        load_benchmark('bench_dark_channel').main(ARGV + ['--repeats', '1'])
