# Copyright (c) mmderain contributors. All rights reserved.
"""Official csdwren/PReNet checkpoints (PReNet, PReNet_r, PRN, PRN_r)."""
import pytest
import torch
import torch.nn.functional as F

from mmderain.models.archs import PReNet
from mmderain.models.converters import (convert_official_prenet,
                                        convert_official_prenet_checkpoint,
                                        prenet_variant)
from tests._helpers import official_convs, official_lstm

VARIANTS = [('lstm', False), ('lstm', True), (None, False), (None, True)]


def _official_state(recurrent, share, c=8, seed=0):
    """Random weights in the official csdwren/PReNet key layout."""
    g = torch.Generator().manual_seed(seed)

    def conv(cin, cout):
        return (torch.randn(cout, cin, 3, 3, generator=g) * 0.1,
                torch.randn(cout, generator=g) * 0.1)

    sd = {}
    for name, (cin, cout) in {'conv0.0': (6, c), 'conv.0': (c, 3)}.items():
        sd[f'{name}.weight'], sd[f'{name}.bias'] = conv(cin, cout)
    for k in range(1, 2 if share else 6):
        for idx in ('0', '2'):
            w, b = conv(c, c)
            sd[f'res_conv{k}.{idx}.weight'], sd[
                f'res_conv{k}.{idx}.bias'] = w, b
    if recurrent:
        for gate in ('conv_i', 'conv_f', 'conv_g', 'conv_o'):
            sd[f'{gate}.0.weight'], sd[f'{gate}.0.bias'] = conv(2 * c, c)
    return {f'module.{k}': v for k, v in sd.items()}  # DataParallel prefix


def _official_forward(sd, x, recurrent, share, stages=6):
    """Independent functional forward following the paper's equations."""
    sd = {k[len('module.'):]: v for k, v in sd.items()}

    conv, res = official_convs(sd)
    out, h, c = x, None, None
    for _ in range(stages):
        f = F.relu(conv('conv0.0', torch.cat([x, out], 1)))
        if recurrent:
            if h is None:
                h = torch.zeros_like(f)
                c = torch.zeros_like(f)
            h, c = official_lstm(conv, '.0', torch.cat([f, h], 1), c)
            f = h
        for k in range(1, 6):
            f = res('res_conv1' if share else f'res_conv{k}', f)
        out = conv('conv.0', f) + x
    return out


@pytest.mark.parametrize('recurrent,share', VARIANTS)
def test_convert_official_matches_official_forward(recurrent, share):
    official = _official_state(recurrent, share)
    state, args = convert_official_prenet(official)
    assert args == dict(
        recurrent=recurrent, share_res_blocks=share, mid_channels=8)
    net = PReNet(
        num_stages=6,
        mid_channels=8,
        **{k: v
           for k, v in args.items() if k != 'mid_channels'})
    net.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 12, 10)
    expected = _official_forward(official, x, recurrent, share)
    torch.testing.assert_close(net(x), expected, rtol=1e-5, atol=1e-6)


def test_convert_rejects_foreign_dicts():
    with pytest.raises(KeyError, match='not an official PReNet'):
        convert_official_prenet({'foo.weight': torch.zeros(1)})
    official = _official_state('lstm', False)
    official['module.extra.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='unexpected keys'):
        convert_official_prenet(official)


@pytest.mark.parametrize('recurrent,share,name', [('lstm', False, 'prenet'),
                                                  ('lstm', True, 'prenet-r'),
                                                  (None, False, 'prn'),
                                                  (None, True, 'prn-r')])
def test_convert_checkpoint_file_and_variant(tmp_path, recurrent, share, name):
    official = _official_state(recurrent, share)
    src, dst = tmp_path / 'net_latest.pth', tmp_path / 'sub' / 'out.pth'
    torch.save(official, src)
    args = convert_official_prenet_checkpoint(str(src), str(dst))
    assert prenet_variant(args) == name
    state, expected_args = convert_official_prenet(official)
    assert args == expected_args
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta'] == dict(
        converted_from='net_latest.pth',
        source='csdwren/PReNet',
        generator=dict(type='PReNet', **args))
    assert ckpt['state_dict'].keys() == {f'generator.{k}' for k in state}
    assert all(
        torch.equal(ckpt['state_dict'][f'generator.{k}'], v)
        for k, v in state.items())
    if recurrent:  # the four official gates, concatenated i, f, g, o
        gates = state['lstm.gates.weight']
        for k, g in enumerate('ifgo'):
            assert torch.equal(gates[8 * k:8 * (k + 1)],
                               official[f'module.conv_{g}.0.weight'])
