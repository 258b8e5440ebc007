# Copyright (c) mmderain contributors. All rights reserved.
"""SSIDKDNet: sizes, parameter counts, padding, and the fast paths (fused
MSFB kernels, dense buffers, channels_last) against the plain ones. Parity
with the official network: ``tests/test_models/test_converters/
test_ssidkd.py``."""
import pytest
import torch
import torch.nn.functional as F

from mmderain.models.editors.ssidkd import SSIDKDNet, ssidkd_parameter_counts
from mmderain.registry import MODELS

TINY = dict(channels=(4, 6, 8), num_units=(3, 2, 2))


def _tiny(fuse=True, seed=0, channels_last=None):
    torch.manual_seed(seed)
    net = SSIDKDNet(**TINY, fuse_msfb=fuse, channels_last=channels_last).eval()
    # non-zero biases so that a wrong fused bias shows
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() == 1:
                p.normal_(0, 0.05)
    return net


def _twin(net, **kwargs):
    other = SSIDKDNet(**{**TINY, **kwargs}).eval()
    other.load_state_dict(net.state_dict())
    return other


def _max_diff(a, b):
    return max((x - y).abs().max().item() for x, y in zip(a, b))


def test_official_parameter_counts():
    with torch.device('meta'):
        net = SSIDKDNet()
    assert sum(p.numel() for p in net.parameters()) == 4433779
    assert ssidkd_parameter_counts(net) == [('head', 2912), ('ed1', 2105384),
                                            ('ed2', 1554048), ('ed4', 768624),
                                            ('tail', 2811)]
    units = {
        c: sum(p.numel() for p in block.unit.parameters())
        for c, block in ((24, net.ed1.enc1), (32, net.ed2.enc2),
                         (48, net.ed4.enc4))
    }
    assert units == {24: 189576, 32: 336736, 48: 757008}
    # one shared unit per dense block: 554 tensors (2,204 with the
    # official per-unit aliases)
    assert len(net.state_dict()) == 554


def test_registry_and_bad_args():
    net = MODELS.build(dict(type='SSIDKDNet', **TINY))
    assert isinstance(net, SSIDKDNet)
    with pytest.raises(ValueError, match='3 positive'):
        SSIDKDNet(channels=(4, 6))
    with pytest.raises(ValueError, match='layers must be 1 or 2'):
        SSIDKDNet(**TINY, fuse_msfb=(3, ))


@pytest.mark.parametrize('size', [(32, 40), (37, 45), (33, 64)])
def test_shapes(size):
    net = _tiny()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        derain, rain, code = net(x)
    assert derain.shape == rain.shape == x.shape
    assert code.shape == (2, 8, size[0] // 4, size[1] // 4)
    torch.testing.assert_close(derain, x - rain)


@pytest.mark.parametrize('size,mode', [((20, 24), 'reflect'),
                                       ((12, 40), 'replicate'),
                                       ((40, 9), 'replicate')])
def test_small_inputs_padded(size, mode):
    """Below 32: padded bottom/right to 32 (reflect where possible), the
    images cropped back; the code is the padded image's."""
    net = _tiny()
    x = torch.rand(1, 3, *size)
    h, w = size
    padded = F.pad(x, (0, max(32 - w, 0), 0, max(32 - h, 0)), mode=mode)
    with torch.no_grad():
        derain, rain, code = net(x)
        _, rain_p, code_p = net(padded)
    assert derain.shape == x.shape
    torch.testing.assert_close(rain, rain_p[..., :h, :w])
    torch.testing.assert_close(derain, x - rain)
    torch.testing.assert_close(code, code_p)
    assert code.shape[-2:] == (max(h, 32) // 4, max(w, 32) // 4)


@pytest.mark.parametrize('fuse,channels_last', [((1, ), False), ((2, ), False),
                                                (True, False), (True, True)])
def test_fused_msfb_matches_unfused(fuse, channels_last):
    plain = _tiny(fuse=False, channels_last=False)
    fused = _twin(plain, fuse_msfb=fuse, channels_last=channels_last)
    x = torch.rand(1, 3, 37, 45)
    with torch.no_grad():
        diff = _max_diff(plain(x), fused(x))
    assert diff < 1e-5


def test_buffered_path_matches_autograd_path():
    """No autograd: dense buffers; with autograd: torch.cat (official)."""
    net = _tiny(channels_last=False)  # the buffers are NCHW
    x = torch.rand(2, 3, 36, 44)
    with torch.no_grad():
        fast = net(x)
    slow = net(x)
    assert slow[0].requires_grad
    assert _max_diff(fast, slow) < 1e-6


def test_channels_last_matches():
    """channels_last (the CPU default) vs NCHW; NCHW inputs give
    contiguous outputs."""
    net = _tiny(channels_last=False)
    x = torch.rand(2, 3, 40, 36)
    with torch.no_grad():
        want = net(x)
        outs = [_twin(net, channels_last=True)(x)]
        outs.append(_twin(net)(x))  # None: channels_last on CPU
        net.to(memory_format=torch.channels_last)
        outs.append(net(x.contiguous(memory_format=torch.channels_last)))
    for got in outs:
        assert _max_diff(want, got) < 1e-5
    for got in outs[:2]:  # NCHW inputs
        assert all(t.is_contiguous() for t in got)


@pytest.mark.parametrize('channels_last', [False, True])
def test_gradients_through_fused_kernels(channels_last):
    """Training on the fused path: the same gradients (official-layout
    parameters) as the plain path."""
    plain = _tiny(fuse=False, channels_last=False).train()
    fused = _twin(plain, fuse_msfb=True, channels_last=channels_last).train()
    x = torch.rand(1, 3, 32, 36)
    grads = []
    for net in (plain, fused):
        derain, rain, code = net(x)
        (derain.square().mean() + code.square().mean()).backward()
        grads.append({k: p.grad for k, p in net.named_parameters()})
    # the official discards the outputs of some encoders (only their unit
    # outputs are used): their last 1x1 fusion gets no gradient
    unused = {k for k, g in grads[0].items() if g is None}
    assert unused == {k for k, g in grads[1].items() if g is None}
    assert unused == {
        f'{b}.fusions.{n - 1}.{p}'
        for b, n in (('ed1.enc1', 3), ('ed1.enc2', 2), ('ed1.enc4', 2),
                     ('ed2.enc2', 2), ('ed2.enc4', 2))
        for p in ('weight', 'bias')
    }
    for k, g in grads[0].items():
        if g is None:
            continue
        scale = g.abs().max().item() + 1e-12
        err = (g - grads[1][k]).abs().max().item() / scale
        assert err < 1e-4, f'{k}: relative gradient error {err:.2e}'


def test_fused_kernel_cache_follows_weights():
    """The cached fused kernels are rebuilt after in-place updates and
    load_state_dict."""
    net = _tiny()
    plain = _twin(net, fuse_msfb=False)
    x = torch.rand(1, 3, 32, 32)
    assert plain.channels_last is None and not plain.training
    with torch.no_grad():
        net(x)  # fills the caches
        for model in (net, plain):
            model.ed1.enc1.unit.msfb.conv3_1.weight.mul_(1.5)
            model.ed1.enc1.unit.msfb.conv5_2.bias.add_(0.1)
        assert _max_diff(net(x), plain(x)) < 1e-5
        other = _tiny(seed=1)
        net.load_state_dict(other.state_dict())
        assert _max_diff(net(x), other(x)) < 1e-5
