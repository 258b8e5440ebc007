# Copyright (c) mmderain contributors. All rights reserved.
"""The shared ConvLSTM cell: fast path == plain (official) path."""
import pytest
import torch
import torch.nn as nn

from mmderain.models.layers import ConvLSTMCell
from mmderain.registry import MODELS

C = 4


@MODELS.register_module(force=True)
class _InputMeanConv(nn.Conv2d):
    """A non-plain convolution whose output depends on the mean of its whole
    input (as CoIMConv2d's does): zero parts must be fed to it."""

    def forward(self, x):
        return super().forward(x) + 0.1 * x.mean((1, 2, 3), keepdim=True)


def _cell(fused, parts=2, conv_cfg=None, seed=0):
    torch.manual_seed(seed)
    cell = ConvLSTMCell(
        C, part_channels=(C, ) * parts, fused_gates=fused,
        conv_cfg=conv_cfg).double()
    with torch.no_grad():  # larger weights than the default init
        for p in cell.parameters():
            p.mul_(3)
    return cell


def _inputs(parts, zero, seed=1):
    g = torch.Generator().manual_seed(seed)
    xs = [
        torch.randn(2, C, 6, 5, dtype=torch.float64, generator=g)
        for _ in range(parts)
    ]
    if zero:  # every state part is a zero state
        xs[1:] = [None] * (parts - 1)
    c = None if zero else torch.randn(
        2, C, 6, 5, dtype=torch.float64, generator=g)
    return xs, c


# (fused_gates, number of parts): PReNet's (x, h), BRN's (f, h, h_other)
LAYOUTS = [(True, 2), (False, 3), (True, 3), (False, 2)]


@pytest.mark.parametrize('fused,parts', LAYOUTS)
@pytest.mark.parametrize('zero', [False, True])
@pytest.mark.parametrize('conv_cfg', [None, dict(type='_InputMeanConv')])
def test_fast_path_values_and_gradients_equal_plain_path(
        fused, parts, zero, conv_cfg):
    cell = _cell(fused, parts, conv_cfg)
    xs, c = _inputs(parts, zero)

    def run(fn):
        cell.zero_grad()
        leaves = [t.clone().requires_grad_() for t in xs if t is not None]
        it = iter(leaves)
        args = [None if t is None else next(it) for t in xs]
        cg = None if c is None else c.clone().requires_grad_()
        h, cn = fn(args, cg)
        ((h * 1.5).sum() + (cn * cn).sum()).backward()
        grads = [p.grad.clone() for p in cell.parameters()]
        grads += [t.grad for t in leaves]
        grads += [] if cg is None else [cg.grad]
        return h.detach(), cn.detach(), grads

    h1, c1, g1 = run(cell)
    h2, c2, g2 = run(cell.forward_reference)
    torch.testing.assert_close(h1, h2, rtol=0, atol=1e-12)
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-12)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # without autograd: the fused point-wise kernels (compiled/in place)
    with torch.inference_mode():
        h3, c3 = cell(xs, c)
    torch.testing.assert_close(h3, h2, rtol=0, atol=1e-7)
    torch.testing.assert_close(c3, c2, rtol=0, atol=1e-7)


@pytest.mark.parametrize('fused', [True, False])
def test_float32_inference_and_channels_last(fused):
    cell = _cell(fused, 3).float()
    xs, c = _inputs(3, zero=False)
    xs = [t.float().contiguous(memory_format=torch.channels_last) for t in xs]
    c = c.float()
    with torch.no_grad():
        for zero_h in (False, True):
            parts = [xs[0], None, xs[2]] if zero_h else xs
            ref = cell.forward_reference(parts, c)
            out = cell(parts, c)
            for a, b in zip(out, ref):
                torch.testing.assert_close(a, b, rtol=0, atol=2e-6)


def test_fused_and_four_convolution_layouts_agree():
    """``gates`` is the four gate kernels concatenated in order i, f, g, o.
    """
    four = _cell(False, 2)
    fused = _cell(True, 2, seed=5)
    with torch.no_grad():
        for p in ('weight', 'bias'):
            getattr(fused.gates, p).copy_(
                torch.cat([getattr(m, p) for m in four.gate_convs()], 0))
    xs, c = _inputs(2, zero=False)
    for a, b in zip(fused(xs, c), four(xs, c)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert set(fused.state_dict()) == {'gates.weight', 'gates.bias'}
    assert set(four.state_dict()) == {
        f'conv_{g}.{p}'
        for g in 'ifgo' for p in ('weight', 'bias')
    }


def test_zero_parts_are_not_convolved_by_plain_gates(monkeypatch):
    """A ``None`` part costs no convolution input channels (PReNet's first
    stage), and gives the zero-state result."""
    cell = _cell(True, 2)
    xs, _ = _inputs(2, zero=False)
    seen = []
    conv2d = torch.nn.functional.conv2d

    def spy(x, w, *args, **kwargs):
        seen.append(tuple(w.shape))
        return conv2d(x, w, *args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, 'conv2d', spy)
    h1, c1 = cell([xs[0], None])
    assert seen == [(4 * C, C, 3, 3)]
    h2, c2 = cell.forward_reference([xs[0], torch.zeros_like(xs[0])])
    torch.testing.assert_close(h1, h2, rtol=0, atol=1e-12)
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-12)


def test_registered_and_errors():
    cell = MODELS.build(dict(type='ConvLSTMCell', channels=3))
    assert cell.part_channels == (3, 3) and cell.gates.out_channels == 12
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match='expected 2 inputs'):
        cell([x])
    with pytest.raises(ValueError, match='widths'):
        cell([x, torch.rand(1, 2, 4, 4)])
    with pytest.raises(ValueError, match='not be None'):
        cell([None, None])
    with pytest.raises(ValueError, match='odd'):
        ConvLSTMCell(3, kernel_size=2)
    with pytest.raises(ValueError, match='positive'):
        ConvLSTMCell(3, part_channels=(3, 0))
