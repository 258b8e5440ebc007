# Copyright (c) mmderain contributors. All rights reserved.
"""benchmarks/bench_ssidkd.py: a tiny run checks agreement and reports the
median and range of its timed runs; its reference dataflow reproduces the
official network's outputs exactly."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

from mmderain.models.converters import convert_official_ssidkd
from mmderain.models.editors.ssidkd import MultiScaleFusionBlock, SSIDKDNet
from tests._helpers import TEST_DATA, load_benchmark

ARGV = [
    '--height', '32', '--width', '36', '--channels', '4', '6', '8',
    '--num-units', '2', '2', '1', '--warmup', '0', '--ref-repeats', '1'
]


@pytest.mark.parametrize('extra',
                         [[], ['--channels-last', 'off', '--fuse-msfb', '1']])
def test_bench_ssidkd_tiny(capsys, extra):
    result = load_benchmark('bench_ssidkd').main(ARGV + extra)
    assert set(result) == {
        'max_abs_diff', 'runs', 'ref_runs', 'reference_s', 'reference_s_min',
        'reference_s_max', 'ours_s', 'ours_s_min', 'ours_s_max', 'speedup'
    }
    assert result['max_abs_diff'] < 1e-5
    assert result['runs'] == 5  # the default: median of 5 timed runs
    assert result['ref_runs'] == 1
    assert result['ours_s_min'] <= result['ours_s'] <= result['ours_s_max']
    assert result['speedup'] == pytest.approx(result['reference_s'] /
                                              result['ours_s'])
    out = capsys.readouterr().out
    assert 'median (min-max) of 5 runs' in out
    assert 'speedup (reference / ours, medians)' in out


def test_bench_ssidkd_fails_on_a_wrong_output(monkeypatch):
    """A 1e-4 error in ours: the agreement check stops the benchmark."""
    exact = MultiScaleFusionBlock.forward

    def wrong(self, x):
        return exact(self, x) + 1e-4

    monkeypatch.setattr(MultiScaleFusionBlock, 'forward', wrong)
    with pytest.raises(AssertionError, match='outputs differ by'):
        load_benchmark('bench_ssidkd').main(ARGV + ['--repeats', '1'])


def test_reference_reproduces_official_outputs():
    """The benchmark's reference dataflow on the converted fixture weights
    gives the official outputs (tests/data/ssidkd_parity.npz) exactly."""
    path = osp.join(TEST_DATA, 'make_ssidkd_fixture.py')
    spec = importlib.util.spec_from_file_location('ssidkd_maker', path)
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    with np.load(
            osp.join(TEST_DATA, 'ssidkd_parity.npz'),
            allow_pickle=False) as fix:
        fix = dict(fix)
    official = maker.official_weights(
        maker.decode_keys(fix['keys']), maker.decode_shapes(fix['shapes']))
    net = SSIDKDNet().eval()
    net.load_state_dict(convert_official_ssidkd(official)[0])
    bench = load_benchmark('bench_ssidkd')
    x = torch.from_numpy(fix['input_1'])  # the odd-sized one (37x45)
    with torch.no_grad():
        outs = bench.reference_forward(net, x)
    for name, out in zip(('derain', 'rain', 'code'), outs):
        np.testing.assert_array_equal(out.numpy(), fix[f'{name}_1'])
