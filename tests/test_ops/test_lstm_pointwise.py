# Copyright (c) mmderain contributors. All rights reserved.
"""The fused ConvLSTM point-wise update equals the naive one, values and
gradients, on every path (the Triton kernel through Triton's interpreter,
which runs it on CPU tensors)."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from mmderain.ops import lstm_pointwise as lp
from mmderain.ops.lstm_pointwise import (cpu_kernel_available, lstm_pointwise,
                                         lstm_pointwise_reference,
                                         triton_available)

FORMATS = [torch.contiguous_format, torch.channels_last]


def _inputs(fmt, zero_state, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    gates = torch.randn(2, 12, 5, 7, generator=g, dtype=dtype) * 4
    c = None if zero_state else torch.randn(
        2, 3, 5, 7, generator=g, dtype=dtype) * 2
    gates = gates.contiguous(memory_format=fmt)
    if c is not None:
        c = c.contiguous(memory_format=fmt)
    return gates, c


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('zero_state', [False, True])
@pytest.mark.parametrize('overwrite', [False, True])
def test_torch_path_without_autograd(fmt, zero_state, overwrite):
    gates, c = _inputs(fmt, zero_state)
    h_ref, c_ref = lstm_pointwise_reference(gates, c)
    c_before = None if c is None else c.clone()
    work = gates.clone()
    with torch.no_grad():
        h, c_new = lstm_pointwise(work, c, overwrite_gates=overwrite)
    torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(c_new, c_ref, rtol=0, atol=1e-6)
    if not overwrite:
        assert torch.equal(work, gates)
    if c is not None:
        assert torch.equal(c, c_before)  # the state is never modified
    assert h.shape == c_new.shape == (2, 3, 5, 7)
    if fmt == torch.channels_last:
        assert h.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize('zero_state', [False, True])
def test_torch_path_gradients(zero_state):
    gates, c = _inputs(torch.contiguous_format, zero_state, torch.float64)
    g1, g2 = gates.clone().requires_grad_(), gates.clone().requires_grad_()
    c1 = c2 = None
    if c is not None:
        c1, c2 = c.clone().requires_grad_(), c.clone().requires_grad_()
    # overwrite_gates is ignored while autograd records the graph
    h1, cn1 = lstm_pointwise(g1, c1, overwrite_gates=True)
    h2, cn2 = lstm_pointwise_reference(g2, c2)
    w = torch.randn_like(h1)
    ((h1 * w).sum() + cn1.square().sum()).backward()
    ((h2 * w).sum() + cn2.square().sum()).backward()
    torch.testing.assert_close(h1, h2, rtol=0, atol=1e-12)
    torch.testing.assert_close(g1.grad, g2.grad, rtol=0, atol=1e-12)
    if c is not None:
        torch.testing.assert_close(c1.grad, c2.grad, rtol=0, atol=1e-12)
    assert torch.equal(g1.detach(), gates)


def test_auto_backend_on_cpu_validates(monkeypatch):
    gates, c = _inputs(torch.contiguous_format, False)
    h, _ = lstm_pointwise(gates, c, backend='torch')
    # without the compiled kernel, 'auto' is the PyTorch path
    monkeypatch.setattr(lp, '_cpu_ext', None)
    torch.testing.assert_close(lstm_pointwise(gates, c)[0], h, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match='pip install -e'):
        lstm_pointwise(gates, c, backend='cpu')
    with pytest.raises(ValueError, match='backend'):
        lstm_pointwise(gates, c, backend='cuda')
    with pytest.raises(ValueError, match='gates must be'):
        lstm_pointwise(gates[:, :10], None)
    with pytest.raises(ValueError, match='does not match'):
        lstm_pointwise(gates, c[:, :2])


@pytest.mark.parametrize('fmt', FORMATS)
@pytest.mark.parametrize('zero_state', [False, True])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_compiled_cpu_kernel(fmt, zero_state, dtype):
    if not cpu_kernel_available():
        if os.environ.get('CI'):
            pytest.fail('mmderain.ops._ext was not built by pip install -e .')
        pytest.skip('compiled CPU kernel not built (pip install -e .)')
    gates, c = _inputs(fmt, zero_state, dtype)
    gates = torch.cat([gates] * 300, 2)  # spans several threads' chunks
    c = None if c is None else torch.cat([c] * 300, 2)
    h_ref, c_ref = lstm_pointwise_reference(gates, c)
    before = gates.clone()
    with torch.no_grad():
        h, c_new = lstm_pointwise(gates, c)  # auto: the compiled kernel
        h2, _ = lstm_pointwise(gates, c, backend='cpu')
    torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(c_new, c_ref, rtol=0, atol=1e-6)
    assert torch.equal(h, h2)
    assert torch.equal(gates, before)
    assert h.is_contiguous(memory_format=fmt)
    assert h.dtype == dtype


def test_compiled_cpu_kernel_layouts_and_autograd():
    if not cpu_kernel_available():
        pytest.skip('compiled CPU kernel not built (pip install -e .)')
    g = torch.Generator().manual_seed(1)
    # neither NCHW nor channels-last: copied first
    gates = torch.randn(2, 7, 5, 12, generator=g).permute(0, 3, 2, 1)
    c = torch.randn(2, 3, 5, 7, generator=g)
    h, cn = lstm_pointwise(gates, c, backend='cpu')
    hr, cr = lstm_pointwise_reference(gates, c)
    torch.testing.assert_close(h, hr, rtol=0, atol=1e-6)
    # with autograd, 'auto' keeps the differentiable PyTorch path
    gates.requires_grad_()
    h, _ = lstm_pointwise(gates, c)
    assert h.requires_grad
    with pytest.raises(RuntimeError, match='float32/float64 CPU'):
        lstm_pointwise(gates.detach().half(), None, backend='cpu')


_TRITON_SCRIPT = textwrap.dedent('''
    import torch
    from mmderain.ops.lstm_pointwise import (
        lstm_pointwise, lstm_pointwise_reference)
    g = torch.Generator().manual_seed(0)
    worst = 0.
    for fmt in (torch.contiguous_format, torch.channels_last):
        for zero in (False, True):
            gates = (torch.randn(2, 12, 5, 7, generator=g) * 4).contiguous(
                memory_format=fmt)
            c = None if zero else torch.randn(2, 3, 5, 7, generator=g)
            h, cn = lstm_pointwise(gates, c, backend='triton')
            hr, cr = lstm_pointwise_reference(gates, c)
            assert h.is_contiguous(memory_format=fmt)
            worst = max(worst, (h - hr).abs().max().item(),
                        (cn - cr).abs().max().item())
    # a gate layout that is neither NCHW nor channels-last is copied
    gates = torch.randn(2, 7, 5, 12, generator=g).permute(0, 3, 2, 1)
    c = torch.randn(2, 3, 5, 7, generator=g)
    h, cn = lstm_pointwise(gates, c, backend='triton')
    hr, cr = lstm_pointwise_reference(gates, c)
    worst = max(worst, (h - hr).abs().max().item())
    print('WORST', worst)
''')


@pytest.mark.skipif(not triton_available(), reason='Triton not installed')
def test_triton_kernel_in_interpreter_mode():
    """The CUDA kernel's code, run by Triton's interpreter on CPU tensors."""
    env = dict(os.environ, TRITON_INTERPRET='1')
    proc = subprocess.run([sys.executable, '-c', _TRITON_SCRIPT],
                          capture_output=True,
                          text=True,
                          env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    worst = float(proc.stdout.split('WORST')[1])
    assert worst < 1e-6


@pytest.mark.skipif(
    not (torch.cuda.is_available() and triton_available()),
    reason='needs CUDA and Triton')
def test_triton_kernel_on_cuda():  # pragma: no cover - needs a GPU
    for fmt in FORMATS:
        for zero_state in (False, True):
            gates, c = _inputs(fmt, zero_state)
            gates = gates.cuda()
            c = None if c is None else c.cuda()
            with torch.no_grad():
                h, c_new = lstm_pointwise(gates, c)
            h_ref, c_ref = lstm_pointwise_reference(gates, c)
            torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-6)
            torch.testing.assert_close(c_new, c_ref, rtol=0, atol=1e-6)
