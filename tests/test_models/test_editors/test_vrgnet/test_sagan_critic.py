# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of :mod:`mmderain.models.editors.vrgnet.sagan_critic` (critic ``D``).

Parity with the official code
-----------------------------
Checked once with a script kept outside the repository (``/tmp``), CPU,
float32, torch 2.12.1: the official ``for_syn/sagan_discriminator.py``,
``sagan_discriminator_256.py`` and ``spectral.py`` of hongwang01/VRGNet at
commit ``036d7a9757abcefde89abadce6a706ec9d1ce15e`` (unmodified) were
instantiated as ``Discriminator(image_size=64, conv_dim=64)`` and
``Discriminator(image_size=256, conv_dim=16)``, with ``attn1.gamma = 0.7``
and ``attn2.gamma = -0.4`` so that attention affects the scores. Their state
dicts, prefixed with ``module.``, went through
:func:`convert_official_sagan_critic` and loaded with ``strict=True``; our
state-dict keys, their order and ``named_parameters()`` equal the official
ones. Then both models saw the same sequence of 7 forwards (batch 3 at
64 px, batch 2 at 256 px): 3 in train mode with autograd, 2 in eval mode
under ``no_grad``, 1 in train mode under ``no_grad`` and 1 more in train
mode. After every forward, scores, both attention maps and every
``weight_u`` / ``weight_v`` differ by max abs **0.0** (bit-identical; scores
of order 1e-2). With one forward per backward, gradient-penalty style
double backward gives identical input gradients and parameter gradients
(max abs diff 0.0). The only known difference: with two forwards before
one backward, the official ``param.data = ...`` update makes the gradient
through ``sigma`` of the first forward use the second forward's ``u``/``v``;
ours uses each forward's own vectors. Measured parameter-gradient max abs
diff: 8.9e-5 (relative 0.9 %) at 64 px and 1.5e-4 (1.3 %) at 256 px from
fresh ``u``/``v``; 2.6e-5 at 64 px after 30 warm-up power iterations.
Built after the same ``torch.manual_seed``, :class:`SAGANCritic` and the
official ``Discriminator`` have identical initial tensors (same creation
order), at both sizes.

Here, :func:`_reference_critic` is an independent functional forward that
follows the official equations, used to catch regressions.
"""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.converters import convert_official_sagan_critic
from mmderain.models.editors.vrgnet.sagan_critic import (SAGANCritic,
                                                         SelfAttention,
                                                         SpectralNorm,
                                                         l2normalize)
from mmderain.registry import MODELS


def _sn_keys(name, out_ch, in_ch):
    p = f'{name}.0.module.'
    return {
        p + 'bias': (out_ch, ),
        p + 'weight_u': (out_ch, ),
        p + 'weight_v': (in_ch * 16, ),
        p + 'weight_bar': (out_ch, in_ch, 4, 4),
    }


def _attn_keys(name, c):
    keys = {f'{name}.gamma': (1, )}
    for conv, out_ch in (('query_conv', c // 8), ('key_conv', c // 8),
                         ('value_conv', c)):
        keys[f'{name}.{conv}.weight'] = (out_ch, c, 1, 1)
        keys[f'{name}.{conv}.bias'] = (out_ch, )
    return keys


#: Official 64-px critic state dict (spec section 1.10), in official order.
OFFICIAL_D_64 = {
    **_sn_keys('l4', 512, 256),
    **_sn_keys('l1', 64, 3),
    **_sn_keys('l2', 128, 64),
    **_sn_keys('l3', 256, 128),
    'last.0.weight': (1, 512, 4, 4),
    'last.0.bias': (1, ),
    **_attn_keys('attn1', 256),
    **_attn_keys('attn2', 512),
}

#: Official 256-px critic (``sagan_discriminator_256.py``, conv_dim=16).
OFFICIAL_D_256 = {
    **_sn_keys('l4', 512, 256),
    **_sn_keys('l1', 16, 3),
    **_sn_keys('l2', 32, 16),
    **_sn_keys('l3', 64, 32),
    **_sn_keys('l31', 128, 64),
    **_sn_keys('l32', 256, 128),
    'last.0.weight': (1, 512, 4, 4),
    'last.0.bias': (1, ),
    **_attn_keys('attn1', 256),
    **_attn_keys('attn2', 512),
}


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _randomize_gamma(net, g1=0.7, g2=-0.4):
    with torch.no_grad():
        net.attn1.gamma.fill_(g1)
        net.attn2.gamma.fill_(g2)


def _power_step(w_bar, u):
    """Official ``_update_u_v`` (one iteration) and effective weight."""
    w = w_bar.reshape(w_bar.shape[0], -1)
    v = l2normalize(w.detach().t().mv(u))
    u = l2normalize(w.detach().mv(v))
    sigma = u.dot(w.mv(v))
    return w_bar / sigma, u, v


def _reference_attention(sd, name, x):
    b, c, h, w = x.shape

    def conv(n):
        return F.conv2d(x, sd[f'{name}.{n}.weight'], sd[f'{name}.{n}.bias'])

    q = conv('query_conv').view(b, -1, h * w).permute(0, 2, 1)
    k = conv('key_conv').view(b, -1, h * w)
    attn = F.softmax(torch.bmm(q, k), dim=-1)
    v = conv('value_conv').view(b, -1, h * w)
    out = torch.bmm(v, attn.permute(0, 2, 1)).view(b, c, h, w)
    return sd[f'{name}.gamma'] * out + x, attn


def _reference_critic(params, x, layers):
    """Official critic forward; returns outputs and the new u per layer."""
    new_u = {}

    def sn_block(name, t):
        p = f'{name}.0.module.'
        w, new_u[name], _ = _power_step(params[p + 'weight_bar'],
                                        params[p + 'weight_u'])
        t = F.conv2d(t, w, params[p + 'bias'], stride=2, padding=1)
        return F.leaky_relu(t, 0.1)

    out = x
    for name in layers:
        out = sn_block(name, out)
    out, p1 = _reference_attention(params, 'attn1', out)
    out, p2 = _reference_attention(params, 'attn2', sn_block('l4', out))
    out = F.conv2d(out, params['last.0.weight'], params['last.0.bias'])
    return out.view(-1), p1, p2, new_u


def test_critic_64_shapes_and_reference():
    torch.manual_seed(0)
    net = SAGANCritic()
    _randomize_gamma(net)
    x = torch.rand(2, 3, 64, 64)
    params = {k: v.clone() for k, v in net.state_dict().items()}
    scores, a1, a2 = net(x, return_attention=True)
    assert scores.shape == (2, ) and a1.shape == (2, 64, 64)
    assert a2.shape == (2, 16, 16)
    torch.testing.assert_close(a1.sum(-1), torch.ones(2, 64))
    ref, r1, r2, new_u = _reference_critic(params, x, ['l1', 'l2', 'l3'])
    torch.testing.assert_close(scores, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a1, r1, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a2, r2, rtol=1e-5, atol=1e-6)
    for name, sn in net.spectral_norms().items():
        torch.testing.assert_close(sn.module.weight_u, new_u[name])
    # plain call returns the scores only; batch of one keeps its dimension
    assert net(x).shape == (2, )
    assert net(x[:1]).shape == (1, )


def test_critic_official_keys_and_param_counts():
    net = SAGANCritic()
    assert _shapes(net) == OFFICIAL_D_64
    assert list(_shapes(net)) == list(OFFICIAL_D_64)
    params = list(net.parameters())
    assert sum(p.numel() for p in params) == 3_183_475
    assert sum(p.numel() for p in params if p.requires_grad) == 3_175_299
    assert net.attn1.gamma.item() == 0 and net.attn2.gamma.item() == 0
    with torch.device('meta'):
        net256 = SAGANCritic(image_size=256, conv_dim=16)
    assert list(_shapes(net256)) == list(OFFICIAL_D_256)
    assert _shapes(net256) == OFFICIAL_D_256
    assert sum(p.numel() for p in net256.parameters()) == 3_222_995


def test_critic_256_forward():
    torch.manual_seed(0)
    net = SAGANCritic(image_size=256, conv_dim=16)
    _randomize_gamma(net)
    x = torch.rand(1, 3, 256, 256)
    params = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        scores, a1, a2 = net(x, return_attention=True)
    assert scores.shape == (1, ) and a1.shape == (1, 64, 64)
    assert a2.shape == (1, 16, 16)
    ref, r1, r2, _ = _reference_critic(params, x,
                                       ['l1', 'l2', 'l3', 'l31', 'l32'])
    torch.testing.assert_close(scores, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a2, r2, rtol=1e-5, atol=1e-6)


def test_critic_64_narrow_conv_dim():
    # Non-official generalisation at 64 px: attention widths 4c and 8c.
    torch.manual_seed(0)
    net = SAGANCritic(conv_dim=4)
    _randomize_gamma(net)
    assert net.attn1.in_channels == 16 and net.attn2.in_channels == 32
    assert tuple(net.l4[0].module.weight_bar.shape) == (32, 16, 4, 4)
    params = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.rand(2, 3, 64, 64)
    scores, a1, a2 = net(x, return_attention=True)
    assert scores.shape == (2, ) and a1.shape == (2, 64, 64)
    ref, _, r2, _ = _reference_critic(params, x, ['l1', 'l2', 'l3'])
    torch.testing.assert_close(scores, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(a2, r2, rtol=1e-5, atol=1e-6)
    sd, args = convert_official_sagan_critic(net.state_dict())
    assert args == dict(image_size=64, conv_dim=4)


def test_l2normalize_adds_eps():
    # official: x / (||x|| + eps), not x / max(||x||, eps)
    x = torch.tensor([1e-13, 0.0])
    torch.testing.assert_close(
        l2normalize(x), torch.tensor([1e-13 / 1.1e-12, 0.0]))
    torch.testing.assert_close(
        l2normalize(torch.tensor([3.0, 4.0])), torch.tensor([0.6, 0.8]))


def test_spectral_norm_parameters():
    net = SAGANCritic()
    for sn in net.spectral_norms().values():
        conv = sn.module
        assert 'weight' not in conv._parameters
        assert not conv.weight_u.requires_grad
        assert not conv.weight_v.requires_grad
        assert conv.weight_bar.requires_grad and conv.bias.requires_grad
        assert isinstance(conv.weight_u, nn.Parameter)
        torch.testing.assert_close(conv.weight_u.norm(), torch.tensor(1.))
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert 'l1.0.module.weight_bar' in trainable
    assert 'l1.0.module.weight_u' not in trainable


def test_spectral_norm_sigma_normalisation():
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 10, 4, 2, 1)
    w0 = conv.weight.detach().clone()
    sn = SpectralNorm(conv)
    torch.testing.assert_close(sn.module.weight_bar, w0)
    sn.power_iteration(300)
    w = sn.normalized_weight().reshape(10, -1)
    assert abs(torch.linalg.matrix_norm(w, ord=2).item() - 1) < 1e-4
    # the normalised layer is the plain layer with weight W_bar / sigma
    x = torch.randn(2, 6, 8, 8)
    sigma = torch.linalg.matrix_norm(w0.reshape(10, -1), ord=2)
    ref = F.conv2d(x, w0 / sigma, conv.bias, 2, 1)
    torch.testing.assert_close(sn(x), ref, rtol=1e-4, atol=1e-5)
    # also in a full critic (the two smallest layers, to keep it fast)
    net = SAGANCritic()
    for sn in (net.l1[0], net.l2[0]):
        sn.power_iteration(300)
        w = sn.normalized_weight()
        top = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2)
        assert abs(top.item() - 1) < 1e-3


def test_spectral_norm_linear_and_errors():
    torch.manual_seed(0)
    lin = nn.Linear(5, 3)
    w0 = lin.weight.detach().clone()
    sn = SpectralNorm(lin)
    sn.power_iteration(300)
    x = torch.randn(4, 5)
    ref = F.linear(x, w0 / torch.linalg.matrix_norm(w0, ord=2), lin.bias)
    torch.testing.assert_close(sn(x), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError, match='Conv2d and nn.Linear'):
        SpectralNorm(nn.Conv1d(2, 2, 3))
    with pytest.raises(ValueError, match='padding_mode'):
        SpectralNorm(nn.Conv2d(2, 2, 3, padding_mode='reflect'))
    with pytest.raises(ValueError, match='power_iterations'):
        SpectralNorm(nn.Conv2d(2, 2, 3), power_iterations=0)


def test_power_iteration_every_forward_also_in_eval():
    torch.manual_seed(0)
    net = SAGANCritic().eval()
    x = torch.rand(1, 3, 64, 64)
    sn = net.l2[0]
    u0 = sn.module.weight_u.clone()
    v0 = sn.module.weight_v.clone()
    with torch.no_grad():
        net(x)
    u1 = sn.module.weight_u.clone()
    assert not torch.allclose(u0, u1)
    assert not torch.allclose(v0, sn.module.weight_v)
    _, u_ref, v_ref = _power_step(sn.module.weight_bar.detach(), u0)
    torch.testing.assert_close(u1, u_ref)
    torch.testing.assert_close(sn.module.weight_v, v_ref)
    with torch.no_grad():
        net(x)
    assert not torch.equal(u1, sn.module.weight_u)
    # u/v survive a state-dict round trip
    clone = SAGANCritic()
    clone.load_state_dict(net.state_dict())
    assert torch.equal(clone.l2[0].module.weight_u, sn.module.weight_u)


def test_gradient_flows_through_sigma():
    torch.manual_seed(0)
    sn = SpectralNorm(nn.Conv2d(3, 4, 4, 2, 1))
    w_bar = sn.module.weight_bar
    u0 = sn.module.weight_u.clone()
    x = torch.randn(2, 3, 8, 8)
    sn(x).square().sum().backward()
    w_ref = w_bar.detach().clone().requires_grad_()
    w_eff, u, v = _power_step(w_ref, u0)
    F.conv2d(x, w_eff, sn.module.bias, 2, 1).square().sum().backward()
    torch.testing.assert_close(w_bar.grad, w_ref.grad)
    # and differs from treating sigma as a constant
    w_const = w_bar.detach().clone().requires_grad_()
    sigma = u.dot(w_bar.detach().reshape(4, -1).mv(v))
    F.conv2d(x, w_const / sigma, sn.module.bias, 2,
             1).square().sum().backward()
    assert not torch.allclose(w_const.grad, w_ref.grad, rtol=1e-3)


def test_gradient_penalty_double_backward():
    torch.manual_seed(0)
    net = SAGANCritic()
    _randomize_gamma(net)
    real = torch.rand(2, 3, 64, 64)
    fake = torch.rand(2, 3, 64, 64)
    alpha = torch.rand(2, 1, 1, 1)
    inter = (alpha * real + (1 - alpha) * fake).requires_grad_()
    # three forwards before one backward, as in the official critic step
    d_real, d_fake, d_inter = net(real), net(fake), net(inter)
    grad = torch.autograd.grad(
        d_inter, inter, torch.ones_like(d_inter), create_graph=True)[0]
    gp = ((grad.flatten(1).norm(dim=1) - 1)**2).mean()
    loss = -d_real.mean() + d_fake.mean() + 10 * gp
    loss.backward()
    for name, p in net.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        else:
            assert p.grad is None, name
    assert net.l1[0].module.weight_bar.grad.abs().sum() > 0
    assert net.attn1.gamma.grad.abs().item() > 0
    # the penalty alone has a non-zero gradient w.r.t. the weights
    net.zero_grad()
    inter = inter[:1].detach().requires_grad_()
    grad = torch.autograd.grad(net(inter).sum(), inter, create_graph=True)[0]
    ((grad.flatten(1).norm(dim=1) - 1)**2).mean().backward()
    assert net.l3[0].module.weight_bar.grad.abs().sum() > 0


def test_self_attention_block():
    torch.manual_seed(0)
    attn = SelfAttention(16)
    x = torch.randn(2, 16, 3, 5)
    out, a = attn(x)
    assert torch.equal(out, x)  # gamma = 0 at initialisation
    assert a.shape == (2, 15, 15)
    with torch.no_grad():
        attn.gamma.fill_(0.5)
    out, a = attn(x)
    params = {f'a.{k}': v for k, v in attn.state_dict().items()}
    ref, ref_a = _reference_attention(params, 'a', x)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(a, ref_a)
    with pytest.raises(ValueError, match='in_channels'):
        SelfAttention(4)


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_convert_official_round_trip(prefix):
    torch.manual_seed(0)
    net = SAGANCritic()
    _randomize_gamma(net)
    with torch.no_grad():
        net(torch.rand(1, 3, 64, 64))  # move u/v away from their init
    official = {prefix + k: v for k, v in net.state_dict().items()}
    sd, args = convert_official_sagan_critic(official)
    assert args == dict(image_size=64, conv_dim=64)
    assert list(sd) == list(net.state_dict())  # inner '.module.' kept
    other = SAGANCritic(**args)
    other.load_state_dict(sd, strict=True)
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(net(x), other(x))


def test_convert_official_256_and_errors():
    with torch.device('meta'):
        net = SAGANCritic(image_size=256, conv_dim=16)
        official = {'module.' + k: v for k, v in net.state_dict().items()}
        sd, args = convert_official_sagan_critic(official)
        assert args == dict(image_size=256, conv_dim=16)
        SAGANCritic(**args).load_state_dict(sd, strict=True)
    good = SAGANCritic().state_dict()
    bad = dict(good)
    del bad['attn2.gamma']
    with pytest.raises(KeyError, match='attn2.gamma'):
        convert_official_sagan_critic(bad)
    bad = dict(good, **{'l5.0.module.bias': torch.zeros(1)})
    with pytest.raises(KeyError, match='l5.0.module.bias'):
        convert_official_sagan_critic(bad)
    bad = {k: v for k, v in good.items() if not k.startswith('l1.')}
    with pytest.raises(KeyError, match='l1.0.module.weight_bar'):
        convert_official_sagan_critic(bad)
    bad = dict(good, **{'last.0.weight': torch.zeros(1, 512, 3, 3)})
    with pytest.raises(ValueError, match='shape mismatch'):
        convert_official_sagan_critic(bad)


def test_critic_registry_and_errors():
    net = MODELS.build(dict(type='SAGANCritic'))
    assert isinstance(net, SAGANCritic)
    with pytest.raises(ValueError, match='image_size must be 64 or 256'):
        SAGANCritic(image_size=128)
    with pytest.raises(ValueError, match='conv_dim=16'):
        SAGANCritic(image_size=256)
    with pytest.raises(ValueError, match='conv_dim=16'):
        SAGANCritic(image_size=256, conv_dim=64)
    with pytest.raises(ValueError, match='conv_dim must be >= 2'):
        SAGANCritic(image_size=64, conv_dim=1)
    with pytest.raises(ValueError, match=r'\(B, 3, 64, 64\)'):
        net(torch.rand(1, 3, 128, 128))
    with pytest.raises(ValueError, match=r'\(B, 3, 64, 64\)'):
        net(torch.rand(3, 64, 64))
