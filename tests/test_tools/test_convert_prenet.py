# Copyright (c) mmderain contributors. All rights reserved.
"""tools/convert/prenet.py (the conversion itself:
tests/test_models/test_converters/test_prenet.py)."""
import pytest
import torch

from mmderain.models.archs import PReNet
from tests._helpers import run_tool


def _official(net):
    """``net``'s weights in the official key layout (gates split)."""
    sd = net.state_dict()
    c = net.head.weight.shape[0]
    out = {
        'conv0.0.weight': sd['head.weight'],
        'conv0.0.bias': sd['head.bias'],
        'conv.0.weight': sd['tail.weight'],
        'conv.0.bias': sd['tail.bias']
    }
    for k in range(len(net.res_blocks)):
        for ours, theirs in (('conv1', '0'), ('conv2', '2')):
            for p in ('weight', 'bias'):
                out[f'res_conv{k + 1}.{theirs}.{p}'] = sd[
                    f'res_blocks.{k}.{ours}.{p}']
    if net.lstm is not None:
        for j, g in enumerate('ifgo'):
            for p in ('weight', 'bias'):
                out[f'conv_{g}.0.{p}'] = sd[f'lstm.gates.{p}'][j * c:(j + 1) *
                                                               c]
    return out


@pytest.mark.parametrize('recurrent,share,name', [('lstm', True, 'prenet-r'),
                                                  (None, False, 'prn')])
def test_cli_converts_and_names_the_config(tmp_path, capsys, recurrent, share,
                                           name):
    net = PReNet(mid_channels=4, recurrent=recurrent, share_res_blocks=share)
    src, dst = tmp_path / 'net_latest.pth', tmp_path / 'out.pth'
    torch.save(_official(net), src)
    gen = run_tool('convert/prenet.py', [str(src), str(dst)])
    assert gen == dict(
        recurrent=recurrent, share_res_blocks=share, mid_channels=4)
    out = capsys.readouterr().out
    assert f'configs/prenet/{name}_t6_b18-p100-100e_<dataset>.py' in out
    state = torch.load(dst, map_location='cpu', weights_only=True)
    ours = {k[len('generator.'):]: v for k, v in state['state_dict'].items()}
    assert ours.keys() == net.state_dict().keys()
    assert all(torch.equal(ours[k], v) for k, v in net.state_dict().items())
