# Copyright (c) mmderain contributors. All rights reserved.
"""CoIMConv2d: official TConv parity (``tests/data/coic_parity_small.pth``,
see ``tests/test_ops/test_modulated_conv.py`` for how it is made), plain
behaviour without a code, the ``modulation_code`` context and the
parameter split."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.editors.coic import (CoIMConv2d, coim_layers,
                                          modulation_code,
                                          modulation_param_names,
                                          split_modulation_params)
from mmderain.models.layers import build_conv2d
from mmderain.ops import instance_modulated_conv2d_reference
from mmderain.registry import MODELS
from tests._helpers import TEST_DATA

FIXTURE = osp.join(TEST_DATA, 'coic_parity_small.pth')


def _from_official(state_dict):
    """Official TConv keys -> CoIMConv2d keys."""
    return {
        k.replace('base_conv.conv.', '').replace('g2pa_wgen.', 'g2pa.'): v
        for k, v in state_dict.items()
    }


@pytest.mark.parametrize('groups,hidden', [(1, 32), (2, 2), (32, 2)])
def test_built_from_config_with_official_structure(groups, hidden):
    layer = build_conv2d(
        dict(type='CoIMConv2d', code_dim=128),
        32,
        32,
        3,
        padding=1,
        groups=groups)
    assert isinstance(layer, CoIMConv2d) and isinstance(layer, nn.Conv2d)
    assert MODELS.get('CoIMConv2d') is CoIMConv2d
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    c_in_g = 32 // groups
    assert shapes == {
        'weight': (32, c_in_g, 3, 3),
        'bias': (32, ),
        'g2pa.0.weight': (hidden, 128 + 32),
        'g2pa.0.bias': (hidden, ),
        'g2pa.2.weight': (16, hidden),
        'g2pa.2.bias': (16, ),
        'g2pa.4.weight': (c_in_g + 32 + 9, 16),
        'g2pa.4.bias': (c_in_g + 32 + 9, ),
    }


def test_grouped_layer_needs_16_output_channels():
    with pytest.raises(ValueError, match='out_channels >= 16'):
        CoIMConv2d(8, 8, 3, groups=8)
    with pytest.raises(ValueError, match='code_dim'):
        CoIMConv2d(8, 8, 3, code_dim=0)


@pytest.mark.parametrize(
    'case',
    ['dense', 'strided', 'kernel5', 'grouped', 'depthwise', 'pointwise'])
def test_reproduces_official_tconv(case):
    fix = torch.load(FIXTURE)['tconv'][case]
    layer = CoIMConv2d(**fix['args'])
    layer.load_state_dict(_from_official(fix['state_dict']))
    with modulation_code(layer, fix['z']):
        out = layer(fix['x'])
    torch.testing.assert_close(out, fix['out'], rtol=0, atol=1e-5)
    if 'out_normal' in fix:  # no code: official mode='normal'
        torch.testing.assert_close(
            layer(fix['x']), fix['out_normal'], rtol=0, atol=1e-6)


def test_one_by_one_convolutions_are_never_modulated():
    torch.manual_seed(0)
    layer = CoIMConv2d(6, 8, 1, code_dim=4)
    assert not layer.modulated and CoIMConv2d(6, 8, 3).modulated
    x, z = torch.randn(2, 6, 5, 5), torch.randn(2, 4, requires_grad=True)
    with modulation_code(layer, z):
        out = layer(x)
    assert torch.equal(out, F.conv2d(x, layer.weight, layer.bias))
    assert torch.autograd.grad(out.sum(), z, allow_unused=True)[0] is None


def test_without_code_is_the_plain_convolution():
    torch.manual_seed(0)
    layer = CoIMConv2d(6, 8, 3, stride=2, padding=1, code_dim=4)
    conv = nn.Conv2d(6, 8, 3, stride=2, padding=1)
    conv.load_state_dict(
        {k: v
         for k, v in layer.state_dict().items() if 'g2pa' not in k})
    x = torch.randn(2, 6, 9, 9)
    assert torch.equal(layer(x), conv(x))


def _manual(layer, x, z):
    """The official TConv computation, written out."""
    s = torch.cat([z, x.mean(dim=(2, 3))], -1)
    a = layer.g2pa(s)
    co, cig = layer.out_channels, layer.in_channels // layer.groups
    return instance_modulated_conv2d_reference(x, layer.weight, layer.bias,
                                               a[:, :co], a[:, co:co + cig],
                                               a[:, co + cig:], layer.stride,
                                               layer.padding, layer.dilation,
                                               layer.groups)


def test_gradients_reach_code_mlp_and_weights():
    torch.manual_seed(0)
    layer = CoIMConv2d(4, 6, 3, padding=1, code_dim=5)
    x = torch.randn(3, 4, 7, 7, requires_grad=True)
    z = torch.randn(3, 5, requires_grad=True)
    with modulation_code(layer, z):
        out = layer(x)
    ref = _manual(layer, x, z)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    grads = torch.autograd.grad(out.square().sum(),
                                [x, z] + list(layer.parameters()))
    grads_ref = torch.autograd.grad(ref.square().sum(),
                                    [x, z] + list(layer.parameters()))
    for g, r in zip(grads, grads_ref):
        assert g.abs().sum() > 0
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-5)


def test_reflect_padding_mode():
    torch.manual_seed(0)
    layer = CoIMConv2d(4, 6, 3, padding=1, code_dim=5, padding_mode='reflect')
    x, z = torch.randn(2, 4, 6, 7), torch.randn(2, 5)
    with modulation_code(layer, z):
        out = layer(x)
    a = layer.g2pa(torch.cat([z, x.mean(dim=(2, 3))], -1))
    ref = instance_modulated_conv2d_reference(
        F.pad(x, (1, 1, 1, 1), mode='reflect'), layer.weight, layer.bias,
        a[:, :6], a[:, 6:10], a[:, 10:])
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)


def _net(code_dim=4):
    return nn.Sequential(
        CoIMConv2d(3, 4, 3, padding=1, code_dim=code_dim), nn.ReLU(),
        nn.Sequential(
            nn.Conv2d(4, 4, 1),
            CoIMConv2d(4, 3, 3, padding=1, code_dim=code_dim)))


def test_modulation_code_sets_and_restores_codes():
    torch.manual_seed(0)
    net = _net()
    layers = coim_layers(net)
    assert len(layers) == 2
    x = torch.randn(2, 3, 6, 6)
    z1, z2 = torch.randn(2, 4), torch.randn(2, 4)
    plain = net(x)
    with modulation_code(net, z1) as m:
        assert m is net and all(layer.code is z1 for layer in layers)
        out1 = net(x)
        with modulation_code(net, z2):
            assert all(layer.code is z2 for layer in layers)
            assert not torch.allclose(net(x), out1)
        assert all(layer.code is z1 for layer in layers)
        with modulation_code(net, None):  # plain inside
            assert torch.equal(net(x), plain)
    assert all(layer.code is None for layer in layers)
    assert not torch.allclose(out1, plain)
    assert torch.equal(net(x), plain)


def test_modulation_code_is_exception_safe():
    net = _net()
    with pytest.raises(RuntimeError, match='boom'):
        with modulation_code(net, torch.randn(2, 4)):
            raise RuntimeError('boom')
    assert all(layer.code is None for layer in coim_layers(net))


def test_code_shapes_are_validated():
    net = _net()
    x = torch.randn(2, 3, 6, 6)
    with pytest.raises(ValueError, match='code_dim'):
        with modulation_code(net, torch.randn(2, 5)):
            pass
    with pytest.raises(ValueError, match=r'\(B, code_dim\)'):
        with modulation_code(net, torch.randn(2, 4, 1)):
            pass
    with pytest.raises(TypeError, match='Tensor'):
        with modulation_code(net, [0.] * 4):
            pass
    with modulation_code(net, torch.randn(3, 4)):
        with pytest.raises(ValueError, match='batch 2'):
            net(x)
    layer = coim_layers(net)[0]
    with modulation_code(layer, torch.randn(2, 4)):
        with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
            layer(torch.randn(2, 5, 6, 6))


def test_parameter_split():
    net = _net()
    names = modulation_param_names(net)
    assert names == [
        f'{p}.g2pa.{i}.{t}' for p in ('0', '2.1') for i in (0, 2, 4)
        for t in ('weight', 'bias')
    ]
    base, tran = split_modulation_params(net)
    params = dict(net.named_parameters())
    assert [id(p) for p in tran] == [id(params[n]) for n in names]
    assert {id(p)
            for p in base
            } == {id(p)
                  for n, p in params.items() if n not in names}
    # frozen parameters are left out, as in the official split
    net[0].g2pa[0].weight.requires_grad_(False)
    net[0].weight.requires_grad_(False)
    assert '0.g2pa.0.weight' not in modulation_param_names(net)
    assert '0.g2pa.0.weight' in modulation_param_names(
        net, trainable_only=False)
    base, tran = split_modulation_params(net)
    assert len(tran) == len(names) - 1
    assert len(base) == len(params) - len(names) - 1
