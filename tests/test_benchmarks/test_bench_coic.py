# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_coic.py: a tiny run of the modulated-convolution
benchmark, and of the end-to-end CoIC-BRN step."""
import importlib.util
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _bench():
    spec = importlib.util.spec_from_file_location(
        '_bench_coic', osp.join(ROOT, 'benchmarks', 'bench_coic.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('groups', [1, 4])
def test_op_benchmark_reports_ratios(groups, capsys):
    result = _bench().main([
        '--batch', '2', '--channels', '4', '--size', '6', '--warmup', '0',
        '--repeats', '1', '--groups',
        str(groups)
    ])
    assert result['max_abs_diff'] <= 1e-5
    for mode in ('fwd', 'fwd_bwd'):
        assert result[f'{mode}_loop_over_ours'] > 0
        assert result[f'{mode}_batched_over_ours'] > 0
    assert result['saved_bytes_batched_over_ours'] > 1
    assert 'e2e_coic_s' not in result
    out = capsys.readouterr().out
    assert 'ratio loop/ours' in out and 'saved for backward' in out


def test_end_to_end_step(capsys):
    result = _bench().main([
        '--batch', '2', '--channels', '4', '--size', '6', '--warmup', '0',
        '--repeats', '1', '--end-to-end', '--e2e-batch', '2', '--e2e-size',
        '16', '--e2e-iters', '1', '--e2e-negatives', '2'
    ])
    assert result['e2e_coic_over_brn'] > 0
    assert result['e2e_warmup_over_brn'] > 0
    assert 'CoIC-BRN' in capsys.readouterr().out
