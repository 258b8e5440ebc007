# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_dlinet.py: a tiny run prints and returns its ratios."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_bench_dlinet_tiny(capsys):
    spec = importlib.util.spec_from_file_location(
        '_bench_dlinet', osp.join(ROOT, 'benchmarks', 'bench_dlinet.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main([
        '--batch', '1', '--size', '16', '--num-masks', '2', '--num-blocks',
        '1', '--repeats', '1', '--warmup', '0'
    ])
    for key in ('fusion_time_ratio', 'fusion_saved_bytes_ratio',
                'network_time_ratio'):
        assert result[key] > 0
    out = capsys.readouterr().out
    assert 'fusion fwd+bwd' in out and 'saved for backward' in out
