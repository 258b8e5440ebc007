# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_prenet.py: the official-dataflow re-implementation and a
tiny end-to-end run of both variants."""
import pytest
import torch

from mmderain.models.archs.prenet import PReNet
from mmderain.models.editors.vrgnet.variational_prenet import VariationalPReNet
from tests._helpers import load_benchmark

TIMES = {
    f'{name}_s{end}'
    for name in ('ours', 'official') for end in ('', '_min', '_max')
}
ARGV = ['--height', '12', '--width', '16', '--warmup', '0', '--stages', '2']


@pytest.mark.parametrize('variational', [False, True])
def test_official_dataflow_has_same_weights_and_outputs(variational):
    bench = load_benchmark('bench_prenet')
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
        load_benchmark('bench_prenet').OfficialPReNet(PReNet(recurrent=None))


@pytest.mark.parametrize('variational', [False, True])
def test_main_reports_equal_outputs_and_five_runs(variational, capsys):
    """Default: median and range of 5 timed runs of each path; the ratio
    is the one of the medians."""
    result = load_benchmark('bench_prenet').main(
        ARGV + (['--variational'] if variational else []))
    assert set(result) == {
        'speedup', 'ours_images_per_s', 'official_images_per_s',
        'max_abs_diff', 'runs'
    } | TIMES
    assert result['max_abs_diff'] <= 1e-5
    assert result['runs'] == 5
    for name in ('ours', 'official'):
        assert (result[f'{name}_s_min'] <= result[f'{name}_s'] <=
                result[f'{name}_s_max'])
        assert result[f'{name}_images_per_s'] == pytest.approx(
            1 / result[f'{name}_s'])
    assert result['speedup'] == pytest.approx(result['official_s'] /
                                              result['ours_s'])
    out = capsys.readouterr().out
    assert ('VariationalPReNet' if variational else 'PReNet, ') in out
    assert 'ratio' in out and 'median (min-max) of 5 runs' in out


def test_main_fails_when_the_fast_path_differs(monkeypatch):
    """A defect of our forward (here: +1e-3) stops the benchmark."""
    bench = load_benchmark('bench_prenet')
    forward = PReNet.forward
    monkeypatch.setattr(PReNet, 'forward',
                        lambda self, x: forward(self, x) + 1e-3)
    with pytest.raises(AssertionError, match='outputs differ by 1.00e-03'):
        bench.main(ARGV + ['--repeats', '1'])
