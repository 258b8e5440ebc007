# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/_timing.py: what the benchmarks report of their runs."""
import pytest
import torch

from tests._helpers import load_benchmark

DEVICE = torch.device('cpu')


def test_timing_summarises_median_and_range():
    timing = load_benchmark('_timing').Timing.of([0.3, 0.1, 0.2, 0.5, 0.4])
    assert timing == (0.3, 0.1, 0.5, 5)
    assert timing.as_dict('ours') == dict(
        ours_s=0.3, ours_s_min=0.1, ours_s_max=0.5)
    assert timing.ms() == '   300.00 ms (100.00-500.00)'


def test_no_timed_run_is_an_error():
    timing = load_benchmark('_timing')
    with pytest.raises(ValueError, match='repeats must be >= 1'):
        timing.time_runs(lambda: None, DEVICE, 0, 0)


def test_time_alternately_interleaves_warmup_then_repeats():
    calls = []
    result = load_benchmark('_timing').time_alternately(
        dict(a=lambda: calls.append('a'), b=lambda: calls.append('b')),
        DEVICE,
        warmup=1,
        repeats=5)
    assert calls == ['a', 'b'] * 6
    assert set(result) == {'a', 'b'}
    assert all(t.runs == 5 and t.min <= t.median <= t.max
               for t in result.values())


def test_saved_bytes_counts_each_storage_once():
    x = torch.ones(4, 8, requires_grad=True)
    # x * x saves x twice (one storage); x.exp() saves its output
    saved = load_benchmark('_timing').saved_bytes(lambda: (x * x).exp())
    assert saved == 2 * x.numel() * 4
