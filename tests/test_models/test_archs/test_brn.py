# Copyright (c) mmderain contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmderain.models.archs import BRN
from mmderain.models.converters import (brn_arch_from_state_dict,
                                        convert_official_brn,
                                        convert_official_brn_with_args)
from mmderain.registry import MODELS
from tests._helpers import brn_coim_state as _coim_state
from tests._helpers import brn_official_state as _official_state
from tests._helpers import brn_reference_forward as _reference_forward
from tests._helpers import brn_res_units as _res_units

UNITS = ('conv0', 'conv_i', 'conv_f', 'conv_g', 'conv_o', 'conv', 'conv0_r',
         'conv_i_r', 'conv_f_r', 'conv_g_r', 'conv_o_r', 'conv_r')


@MODELS.register_module(force=True)
class _BRNTestModConv(nn.Conv2d):
    """Stand-in for CoIMConv2d: an ``nn.Conv2d`` with a ``g2pa`` MLP.

    Its output depends on the mean of its input (as CoIM's does), which
    checks that zero states are fed to such layers, not skipped.
    """

    def __init__(self, in_channels, out_channels, kernel_size, code_dim=4,
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
    for unit in _res_units():
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
    sd = _official_state(c=8)
    net = BRN(num_iters=3, mid_channels=8, channels_last=channels_last)
    net.load_state_dict(convert_official_brn(sd))
    x = torch.rand(2, 3, 11, 14)
    ref_imgs, ref_rains = _reference_forward(sd, x, 3, 8)
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
    state = convert_official_brn(_coim_state(c=8, code_dim=4))
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
    sd = _official_state(c=8)
    net = BRN(num_iters=2, mid_channels=8).cuda()
    net.load_state_dict(convert_official_brn(sd))
    x = torch.rand(1, 3, 12, 15)
    ref, _ = _reference_forward(sd, x, 2, 8)
    with torch.no_grad():
        out = net(x.cuda()).cpu()
    assert torch.allclose(out, ref[-1], atol=1e-4)


# ---------------------------------------------------------------------- #
# converter
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize('unused,prefix', [(True, 'module.'), (False, '')])
def test_convert_official_layouts_round_trip(unused, prefix):
    sd = _official_state(c=8, unused=unused, prefix=prefix)
    out = convert_official_brn(sd)
    assert len(out) == 56
    assert torch.equal(out['conv0.weight'], sd[prefix + 'conv0.0.weight'])
    assert torch.equal(out['conv_o_r.bias'], sd[prefix + 'conv_o_r.0.bias'])
    assert torch.equal(out['res_conv5.conv2.weight'],
                       sd[prefix + 'res_conv5.2.weight'])
    assert torch.equal(out['res_conv3_r.conv1.bias'],
                       sd[prefix + 'res_conv3_r.0.bias'])
    BRN(mid_channels=8).load_state_dict(out)  # strict
    # back to the official layout: every official tensor is accounted for
    back = {}
    for k, v in out.items():
        unit, *rest = k.split('.')
        if rest[0] in ('conv1', 'conv2'):
            rest[0] = '0' if rest[0] == 'conv1' else '2'
        else:
            rest.insert(0, '0')
        back[prefix + '.'.join([unit, *rest])] = v
    kept = {k: v for k, v in sd.items()
            if 'res_conv4_r' not in k and 'res_conv5_r' not in k}
    assert set(back) == set(kept)
    assert all(torch.equal(back[k], kept[k]) for k in kept)
    state, args = convert_official_brn_with_args(sd)
    assert args == dict(mid_channels=8) and state.keys() == out.keys()


def test_convert_coim_layout_round_trip():
    sd = _coim_state(c=8, code_dim=4)
    wrapped = {f'module.{k}': v for k, v in sd.items()}
    out = convert_official_brn(wrapped)
    assert len(out) == len(sd) == 224
    assert torch.equal(out['conv.weight'],
                       sd['conv.conv.base_conv.conv.weight'])
    assert torch.equal(out['conv_i.g2pa.4.bias'],
                       sd['conv_i.conv.g2pa_wgen.4.bias'])
    assert torch.equal(out['res_conv2_r.conv2.g2pa.0.weight'],
                       sd['res_conv2_r.conv2.g2pa_wgen.0.weight'])
    assert torch.equal(out['res_conv5.conv1.bias'],
                       sd['res_conv5.conv1.base_conv.conv.bias'])
    back = {}
    for k, v in out.items():
        k = k.replace('.g2pa.', '.g2pa_wgen.')
        unit, rest = k.split('.', 1)
        if rest.startswith(('conv1.', 'conv2.')):
            conv, rest = rest.split('.', 1)
            unit = f'{unit}.{conv}'
        else:
            unit = f'{unit}.conv'
        if not rest.startswith('g2pa_wgen.'):
            rest = f'base_conv.conv.{rest}'
        back[f'{unit}.{rest}'] = v
    assert set(back) == set(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_convert_errors_name_keys_and_shapes():
    with pytest.raises(KeyError, match='not an official BRN'):
        convert_official_brn({'head.weight': torch.zeros(1)})
    sd = _official_state(c=8, prefix='')
    del sd['conv_g_r.0.bias']
    with pytest.raises(KeyError, match='conv_g_r.0.bias'):
        convert_official_brn(sd)
    sd = _official_state(c=8, prefix='')
    sd['extra.0.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='unexpected keys.*extra.0.weight'):
        convert_official_brn(sd)
    sd = _official_state(c=8, prefix='')
    sd['conv_f.0.weight'] = torch.zeros(8, 16, 3, 3)
    with pytest.raises(ValueError, match=r"'conv_f.weight'.*\(8, 24, 3, 3\)"):
        convert_official_brn(sd)
    sd = _coim_state(c=8)
    del sd['res_conv1.conv2.base_conv.conv.weight']
    with pytest.raises(KeyError, match='res_conv1.conv2.base_conv.conv'):
        convert_official_brn(sd)
    sd = _coim_state(c=8)
    del sd['conv_r.conv.g2pa_wgen.2.bias']
    with pytest.raises(KeyError, match='conv_r.g2pa.2.bias'):
        convert_official_brn(sd)
    sd = _coim_state(c=8)
    sd['conv_o.conv.g2pa_wgen.4.weight'] = torch.zeros(40, 16)
    with pytest.raises(ValueError,
                       match=r"'conv_o.g2pa.4.weight'.*\(40, 16\).*"
                       r'\(41, 16\)'):
        convert_official_brn(sd)
