# Copyright (c) mmderain contributors. All rights reserved.
"""VariationalPReNet (VRGNet's derainer) and its official-weight converter."""
import pytest
import torch
import torch.nn.functional as F

import mmderain.models.editors.vrgnet  # noqa: F401 (registers)
from mmderain.models.archs.prenet import PReNet
from mmderain.models.converters import (convert_official_prenet,
                                        convert_official_vrgnet_derainer)
from mmderain.models.editors.vrgnet.variational_prenet import (
    OFFICIAL_NUM_STAGES, VariationalPReNet)
from mmderain.registry import MODELS
from tests._helpers import official_convs, official_lstm


def test_default_size_equals_official():
    net = VariationalPReNet()
    assert sum(p.numel() for p in net.parameters()) == 170_697
    assert len(net.state_dict()) == 28  # official: 34 (4 gates unfused)
    assert net.tail_var.weight.shape == (6, 32, 3, 3)


def test_registered_and_built_from_config():
    net = MODELS.build(
        dict(
            type='VariationalPReNet',
            num_stages=2,
            mid_channels=4,
            num_res_blocks=1))
    assert isinstance(net, VariationalPReNet)
    assert net.num_stages == 2 and len(net.res_blocks) == 1


@pytest.mark.parametrize('num_stages', [1, 3])
def test_outputs_and_stages(num_stages):
    torch.manual_seed(0)
    net = VariationalPReNet(
        num_stages=num_stages, mid_channels=8, num_res_blocks=2)

    x = torch.rand(2, 3, 11, 9)
    mu = net(x)
    assert mu.shape == x.shape
    mu2, logvar = net(x, return_logvar=True)
    assert logvar.shape == x.shape
    torch.testing.assert_close(mu2, mu, rtol=0, atol=0)
    stages = net(x, return_stages=True)
    assert len(stages) == num_stages
    torch.testing.assert_close(stages[-1], mu, rtol=0, atol=0)
    stages2, logvar2 = net(x, return_stages=True, return_logvar=True)
    torch.testing.assert_close(logvar2, logvar, rtol=0, atol=0)
    # stages 1..T-1 are PReNet's, with the same weights
    if num_stages > 1:
        plain = PReNet(
            num_stages=num_stages - 1, mid_channels=8, num_res_blocks=2)
        plain.load_state_dict({
            k: v
            for k, v in net.state_dict().items()
            if not k.startswith('tail_var.')
        })
        for a, b in zip(stages[:-1], plain(x, return_stages=True)):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def _official_state(c=8, num_res=5, prefix='derainet.', seed=0):
    """Random weights in the official VRGNet ``Derain`` key layout."""
    g = torch.Generator().manual_seed(seed)

    def conv(cin, cout):
        return (torch.randn(cout, cin, 3, 3, generator=g) * 0.1,
                torch.randn(cout, generator=g) * 0.1)

    shapes = {'conv0.0': (6, c), 'conv.0': (c, 3), 'convfinal.0': (c, 6)}
    shapes.update({f'conv_{k}.0': (2 * c, c) for k in 'ifgo'})
    for k in range(1, num_res + 1):
        shapes.update({f'res_conv{k}.0': (c, c), f'res_conv{k}.2': (c, c)})
    sd = {}
    for name, (cin, cout) in shapes.items():
        sd[f'{prefix}{name}.weight'], sd[f'{prefix}{name}.bias'] = conv(
            cin, cout)
    return sd


def _official_forward(sd, x, num_res=5, prefix='derainet.'):
    """Independent functional copy of VRGNet's ``prenet.py`` forward."""
    sd = {k[len(prefix):]: v for k, v in sd.items()}

    conv, res = official_convs(sd)
    c = sd['conv0.0.weight'].shape[0]
    h = x.new_zeros(x.shape[0], c, *x.shape[2:])
    cell = torch.zeros_like(h)
    out = x
    for stage in range(OFFICIAL_NUM_STAGES):
        f = F.relu(conv('conv0.0', torch.cat([x, out], 1)))
        h, cell = official_lstm(conv, '.0', torch.cat([f, h], 1), cell)
        f = h
        for k in range(1, num_res + 1):
            f = res(f'res_conv{k}', f)
        if stage < OFFICIAL_NUM_STAGES - 1:
            out = conv('conv.0', f) + x
    final = conv('convfinal.0', f)
    return final[:, :3] + x, final[:, 3:]


@pytest.mark.parametrize('prefix', ['derainet.', 'module.derainet.', ''])
def test_convert_official_matches_official_forward(prefix):
    official = _official_state(prefix=prefix)
    state, args = convert_official_vrgnet_derainer(official)
    assert args == dict(
        num_stages=6, mid_channels=8, num_res_blocks=5, in_channels=3)
    net = VariationalPReNet(**args)
    net.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 12, 10)
    mu_ref, logvar_ref = _official_forward(official, x, prefix=prefix)
    mu, logvar = net(x, return_logvar=True)  # autograd path
    torch.testing.assert_close(mu, mu_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logvar, logvar_ref, rtol=1e-5, atol=1e-5)
    with torch.inference_mode():  # fast path
        mu, logvar = net(x, return_logvar=True)
    torch.testing.assert_close(mu, mu_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logvar, logvar_ref, rtol=1e-5, atol=1e-5)


def test_gradients_equal_official_forward():
    """Training (e.g. VRGNet's KL terms use mu and logvar) is unchanged."""
    official = {
        k: v.double()
        for k, v in _official_state(c=4, num_res=2).items()
    }
    state, args = convert_official_vrgnet_derainer(official)
    net = VariationalPReNet(**args).double()
    net.load_state_dict(state)
    x = torch.rand(2, 3, 7, 8, dtype=torch.float64)
    w1, w2 = torch.randn_like(x), torch.randn_like(x)

    mu, logvar = net(x, return_logvar=True)
    ((mu * w1).sum() + (logvar.exp() * w2).sum()).backward()
    ours = {k: p.grad for k, p in net.named_parameters()}

    params = {k: v.clone().requires_grad_() for k, v in official.items()}
    mu_r, logvar_r = _official_forward(params, x, num_res=2)
    ((mu_r * w1).sum() + (logvar_r.exp() * w2).sum()).backward()
    ref, _ = convert_official_vrgnet_derainer(
        {k: p.grad
         for k, p in params.items()})
    assert set(ours) == set(ref)
    for k in ours:
        torch.testing.assert_close(ours[k], ref[k], rtol=1e-9, atol=1e-10)


def test_convert_rejects_foreign_dicts():
    with pytest.raises(KeyError, match='not an official VRGNet derainer'):
        convert_official_vrgnet_derainer({'foo.weight': torch.zeros(1)})
    official = _official_state()
    # a plain PReNet (no convfinal) is not a VRGNet derainer ...
    plain = {
        k: v
        for k, v in official.items() if not k.startswith('derainet.convf')
    }
    with pytest.raises(KeyError, match='convfinal'):
        convert_official_vrgnet_derainer(plain)
    # ... and the plain-PReNet converter refuses the variational one
    with pytest.raises(KeyError, match='unexpected keys'):
        convert_official_prenet(_official_state(prefix=''))
    no_lstm = {k: v for k, v in official.items() if '.conv_' not in k}
    with pytest.raises(KeyError, match='LSTM'):
        convert_official_vrgnet_derainer(no_lstm)
    extra = dict(official)
    extra['derainet.extra.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='unexpected keys'):
        convert_official_vrgnet_derainer(extra)
