# Copyright (c) mmderain contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmderain.models.archs import BRN
from mmderain.models.converters import (brn_arch_from_state_dict,
                                        convert_official_brn)
from mmderain.registry import MODELS
from tests._helpers import (brn_coim_state, brn_official_state,
                            brn_reference_forward, brn_res_units)

UNITS = ('conv0', 'conv_i', 'conv_f', 'conv_g', 'conv_o', 'conv', 'conv0_r',
         'conv_i_r', 'conv_f_r', 'conv_g_r', 'conv_o_r', 'conv_r')


@MODELS.register_module(force=True)
class _BRNTestModConv(nn.Conv2d):
    """Stand-in for CoIMConv2d: an ``nn.Conv2d`` with a ``g2pa`` MLP.

    Its output depends on the mean of its input (as CoIM's does), which
    checks that zero states are fed to such layers, not skipped.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size,
                 code_dim=4,
                 **kwargs):
        super().__init__(in_channels, out_channels, kernel_size, **kwargs)
        k2 = self.kernel_size[0] * self.kernel_size[1]
        self.g2pa = nn.Sequential(
            nn.Linear(code_dim + in_channels, out_channels), nn.ReLU(),
            nn.Linear(out_channels, 16), nn.ReLU(),
            nn.Linear(16, in_channels + out_channels + k2))

    def forward(self, x):
        return super().forward(x) + 0.01 * x.mean((1, 2, 3), keepdim=True)


def test_brn_parameter_count_and_names():
    net = BRN()
    assert sum(p.numel() for p in net.parameters()) == 375_526
    keys = set(net.state_dict())
    for unit in UNITS:
        assert {f'{unit}.weight', f'{unit}.bias'} <= keys
    for unit in brn_res_units():
        for conv in ('conv1', 'conv2'):
            assert f'{unit}.{conv}.weight' in keys
    assert len(keys) == 56
    assert not hasattr(net, 'res_conv4_r')


def test_brn_shapes_stages_and_rain():
    torch.manual_seed(0)
    net = BRN(num_iters=3, mid_channels=8)
    x = torch.rand(2, 3, 13, 17)
    out = net(x)
    assert out.shape == x.shape and out.is_contiguous()
    stages = net(x, return_stages=True)
    assert len(stages) == 3 and torch.allclose(stages[-1], out, atol=1e-6)
    bg, rain = net(x, return_rain=True)
    assert bg.shape == rain.shape == x.shape
    bgs, rains = net(x, return_stages=True, return_rain=True)
    assert len(bgs) == len(rains) == 3
    assert torch.allclose(rains[-1], rain, atol=1e-6)


def test_brn_invalid_args():
    with pytest.raises(ValueError, match='num_iters'):
        BRN(num_iters=0)
    with pytest.raises(ValueError, match='mid_channels'):
        BRN(mid_channels=0)
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        BRN(num_iters=1, mid_channels=4)(torch.rand(1, 1, 8, 8))


@pytest.mark.parametrize('channels_last', [None, False])
def test_brn_matches_official_dataflow(channels_last):
    sd = brn_official_state(c=8)
    net = BRN(num_iters=3, mid_channels=8, channels_last=channels_last)
    net.load_state_dict(convert_official_brn(sd))
    x = torch.rand(2, 3, 11, 14)
    ref_imgs, ref_rains = brn_reference_forward(sd, x, 3, 8)
    with torch.no_grad():  # fused inference path
        imgs, rains = net(x, return_stages=True, return_rain=True)
    for a, b in zip(imgs + rains, ref_imgs + ref_rains):
        assert torch.allclose(a, b, atol=1e-5)
    # autograd path (unfused, out of place)
    imgs, rains = net(x, return_stages=True, return_rain=True)
    for a, b in zip(imgs + rains, ref_imgs + ref_rains):
        assert torch.allclose(a, b, atol=1e-5)


def test_brn_backward_reaches_every_parameter():
    net = BRN(num_iters=2, mid_channels=4)
    x = torch.rand(1, 3, 9, 10)
    net(x).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_brn_states_follow_input_dtype():
    net = BRN(num_iters=2, mid_channels=4).double()
    x = torch.rand(1, 3, 8, 9, dtype=torch.float64)
    with torch.no_grad():
        assert net(x).dtype == torch.float64
    assert net(x).dtype == torch.float64


def test_brn_conv_cfg_builds_modulated_layers():
    cfg = dict(type='_BRNTestModConv', code_dim=4)
    net = BRN(num_iters=2, mid_channels=8, conv_cfg=cfg)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 28
    assert all(type(m) is _BRNTestModConv for m in convs)
    keys = set(net.state_dict())
    assert 'conv0.g2pa.0.weight' in keys and 'res_conv1_r.conv2.g2pa.4.bias' \
        in keys
    # the converted CoIM layout loads strictly
    state = convert_official_brn(brn_coim_state(c=8, code_dim=4))
    net.load_state_dict(state)
    assert brn_arch_from_state_dict(state) == dict(
        mid_channels=8, conv_cfg=dict(type='CoIMConv2d', code_dim=4))
    # such layers are called one by one, with and without autograd
    x = torch.rand(1, 3, 7, 9)
    out = net(x)
    assert out.shape == x.shape
    with torch.no_grad():
        assert torch.allclose(net(x), out, atol=1e-5)


def test_brn_generic_path_equals_fast_path():
    """Layer-by-layer gates on zero-padded states == fused, skipped ones."""

    @MODELS.register_module(force=True)
    class _PlainSubclass(nn.Conv2d):
        pass

    plain = BRN(num_iters=3, mid_channels=8)
    generic = BRN(
        num_iters=3, mid_channels=8, conv_cfg=dict(type='_PlainSubclass'))
    generic.load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 10, 12)
    with torch.no_grad():
        a = plain(x, return_rain=True)
        b = generic(x, return_rain=True)
    for u, v in zip(a, b):
        assert torch.allclose(u, v, atol=1e-5)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='CUDA is not available')
def test_brn_cuda():
    sd = brn_official_state(c=8)
    net = BRN(num_iters=2, mid_channels=8).cuda()
    net.load_state_dict(convert_official_brn(sd))
    x = torch.rand(1, 3, 12, 15)
    ref, _ = brn_reference_forward(sd, x, 2, 8)
    with torch.no_grad():
        out = net(x.cuda()).cpu()
    assert torch.allclose(out, ref[-1], atol=1e-4)


@pytest.mark.parametrize('conv_cfg', [None, dict(type='_BRNTestModConv')])
def test_shared_lstm_keeps_official_gate_keys(conv_cfg):
    """The gates live in ``lstm``/``lstm_r`` (the shared ConvLSTMCell) but
    are saved and loaded under the official keys, nested models included
    (``generator.conv_i_r.*`` as the derainers save them)."""
    from mmengine.runner.checkpoint import load_state_dict
    net = BRN(num_iters=1, mid_channels=4, conv_cfg=conv_cfg)
    names = dict(net.named_parameters())
    assert 'lstm.conv_i.weight' in names and 'lstm_r.conv_o.bias' in names
    sd = net.state_dict()
    assert not any(k.startswith('lstm') for k in sd)
    assert sd['conv_i.weight'] is not None
    assert torch.equal(sd['conv_g_r.weight'], net.lstm_r.conv_g.weight)
    if conv_cfg:
        assert 'conv_f.g2pa.4.bias' in sd
    wrapper = nn.Module()
    wrapper.generator = BRN(num_iters=1, mid_channels=4, conv_cfg=conv_cfg)
    state = {f'generator.{k}': v for k, v in sd.items()}
    assert list(wrapper.state_dict()) == list(state)
    wrapper.load_state_dict(state)  # strict
    for k, v in wrapper.state_dict().items():
        assert torch.equal(v, state[k]), k
    other = nn.Module()
    other.generator = BRN(num_iters=1, mid_channels=4, conv_cfg=conv_cfg)
    load_state_dict(other, state, strict=True)  # mmengine's loader
    assert torch.equal(other.generator.lstm.conv_o.weight, sd['conv_o.weight'])
    bad = dict(state)
    bad['generator.conv_x_r.weight'] = bad.pop('generator.conv_i_r.weight')
    with pytest.raises(RuntimeError, match='conv_i_r.weight'):
        wrapper.load_state_dict(bad)
