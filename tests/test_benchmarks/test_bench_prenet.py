# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_prenet.py: the official-dataflow re-implementation and a
tiny end-to-end run of both variants."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmderain.models.archs.prenet import PReNet
from mmderain.models.editors.vrgnet.variational_prenet import VariationalPReNet

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _bench():
    spec = importlib.util.spec_from_file_location(
        '_bench_prenet', osp.join(ROOT, 'benchmarks', 'bench_prenet.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('variational', [False, True])
def test_official_dataflow_has_same_weights_and_outputs(variational):
    bench = _bench()
    torch.manual_seed(0)
    net = (VariationalPReNet if variational else PReNet)(
        num_stages=3, mid_channels=8, num_res_blocks=2)
    official = bench.OfficialPReNet(net)
    n_ours = sum(p.numel() for p in net.parameters())
    assert sum(p.numel() for p in official.parameters()) == n_ours
    x = torch.rand(2, 3, 10, 13)
    expected = net(x)  # autograd path: plain NCHW
    torch.testing.assert_close(official(x), expected, rtol=0, atol=1e-6)
    with torch.inference_mode():
        torch.testing.assert_close(net(x), expected, rtol=0, atol=1e-6)


def test_official_dataflow_refuses_other_variants():
    with pytest.raises(ValueError, match='only the LSTM'):
        _bench().OfficialPReNet(PReNet(recurrent=None))


@pytest.mark.parametrize('variational', [False, True])
def test_main_reports_ratio(variational, capsys):
    argv = [
        '--height', '12', '--width', '16', '--warmup', '0', '--repeats', '1',
        '--stages', '2'
    ]
    result = _bench().main(argv + (['--variational'] if variational else []))
    assert set(result) == {
        'speedup', 'ours_images_per_s', 'official_images_per_s', 'max_abs_diff'
    }
    assert result['max_abs_diff'] <= 1e-5 and result['speedup'] > 0
    out = capsys.readouterr().out
    assert ('VariationalPReNet' if variational else 'PReNet, ') in out
    assert 'ratio' in out
