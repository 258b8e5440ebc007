# Copyright (c) mmderain contributors. All rights reserved.
"""Fused point-wise update of a convolutional LSTM cell.

Given the pre-activation gates ``(i, f, g, o)`` concatenated along the
channels, shape (N, 4C, H, W), and the cell state ``c``, the update is::

    c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h' = sigmoid(o) * tanh(c')

Written naively (as csdwren/PReNet and VRGNet's ``prenet.py`` do) this is
ten full-resolution element-wise kernels and as many temporary tensors per
step. :func:`lstm_pointwise` computes the same numbers with

* one Triton kernel on CUDA tensors when no gradient is recorded (each
  gate element is read once, ``h'`` and ``c'`` are written once);
* the same single pass as a compiled C++ kernel on CPU tensors when no
  gradient is recorded (``mmderain/ops/csrc/lstm_pointwise.cpp``, built by
  ``pip install -e .``; vectorised, with an AVX2 clone, over PyTorch's
  threads);
* PyTorch operations otherwise: out of place when autograd records the
  graph (exact gradients); without autograd, in place, and when the caller
  hands over the gates buffer (``overwrite_gates=True``) with a single
  sigmoid pass over all four gates, ``tanh(x) = 2 * sigmoid(2x) - 1``
  (ATen's CPU ``tanh`` is several times slower than its ``sigmoid``).

All paths agree with :func:`lstm_pointwise_reference` to ~1e-7 (float32).
``c = None`` stands for a zero cell state (the first step), which skips the
forget gate. NCHW and channels-last gates are both handled without copies.
"""
from typing import Optional, Tuple

import torch

try:  # Triton is optional: only the CUDA inference path uses it
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None

try:  # the compiled CPU kernel is optional: built by `pip install -e .`
    from . import _ext as _cpu_ext
except ImportError:  # pragma: no cover - depends on the build
    _cpu_ext = None

_BACKENDS = ('auto', 'torch', 'triton', 'cpu')


def lstm_pointwise_reference(
        gates: torch.Tensor,
        c: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """The update written as the official code does (unfused, out of place).

    Args:
        gates (Tensor): Pre-activation gates ``(i, f, g, o)`` concatenated
            along dim 1, (N, 4C, H, W).
        c (Tensor, optional): Cell state (N, C, H, W); ``None`` for zeros.

    Returns:
        tuple[Tensor, Tensor]: The new hidden and cell states ``(h, c)``.
    """
    i, f, g, o = gates.chunk(4, 1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), \
        torch.sigmoid(o)
    if c is None:
        c = torch.zeros_like(i)
    c = f * c + i * g
    return o * torch.tanh(c), c


def _torch_pointwise(
        gates: torch.Tensor, c: Optional[torch.Tensor],
        overwrite_gates: bool) -> Tuple[torch.Tensor, torch.Tensor]:
    """PyTorch path; in place on temporaries when autograd is off."""
    i, f, g, o = gates.chunk(4, 1)
    track = torch.is_grad_enabled() and (gates.requires_grad or
                                         (c is not None and c.requires_grad))
    if track:
        c_new = torch.sigmoid(i) * torch.tanh(g)
        if c is not None:
            c_new = c_new + torch.sigmoid(f) * c
        return torch.sigmoid(o) * torch.tanh(c_new), c_new
    if not overwrite_gates:
        c_new = torch.sigmoid(i).mul_(torch.tanh(g))
        if c is not None:
            c_new.addcmul_(torch.sigmoid(f), c)
        return torch.tanh(c_new).mul_(torch.sigmoid(o)), c_new
    # tanh(x) = 2 * sigmoid(2x) - 1 (abs. error ~1e-7): one sigmoid pass
    # over all four gates in place; ATen's tanh is several times slower
    g.mul_(2)
    gates.sigmoid_()
    if c is None:
        c_new = torch.mul(i, g).mul_(2).sub_(i)
    else:
        c_new = torch.mul(f, c).addcmul_(i, g, value=2).sub_(i)
    t = torch.mul(c_new, 2).sigmoid_()
    return t.mul_(o).mul_(2).sub_(o), c_new


def _gate_layout(
        gates: torch.Tensor) -> Optional[Tuple[torch.memory_format, int]]:
    """Memory format of ``gates`` and the length of one gate's run.

    Returns ``(format, inner)`` where, in memory, every block of
    ``4 * inner`` elements holds ``inner`` elements of each gate in turn, or
    ``None`` for other layouts.
    """
    n, c4, h, w = gates.shape
    if gates.is_contiguous():
        return torch.contiguous_format, (c4 // 4) * h * w
    if gates.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last, c4 // 4
    return None


if triton is not None:

    @triton.jit
    def _tanh(x):
        # tanh through exp(-2|x|) <= 1: no overflow, absolute error ~1e-7
        e = tl.exp(-2.0 * tl.abs(x))
        t = (1.0 - e) / (1.0 + e)
        return tl.where(x < 0, -t, t)

    @triton.jit
    def _lstm_pointwise_kernel(gates_ptr, c_ptr, h_out_ptr, c_out_ptr, numel,
                               inner, HAS_C: tl.constexpr,
                               BLOCK: tl.constexpr):
        offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
        mask = offs < numel
        outer = offs // inner
        base = outer * (4 * inner) + (offs - outer * inner)
        gi = tl.load(gates_ptr + base, mask=mask).to(tl.float32)
        gg = tl.load(gates_ptr + base + 2 * inner, mask=mask).to(tl.float32)
        go = tl.load(gates_ptr + base + 3 * inner, mask=mask).to(tl.float32)
        c = tl.sigmoid(gi) * _tanh(gg)
        if HAS_C:
            gf = tl.load(gates_ptr + base + inner, mask=mask).to(tl.float32)
            c_old = tl.load(c_ptr + offs, mask=mask).to(tl.float32)
            c += tl.sigmoid(gf) * c_old
        h = tl.sigmoid(go) * _tanh(c)
        tl.store(c_out_ptr + offs, c.to(c_out_ptr.dtype.element_ty), mask=mask)
        tl.store(h_out_ptr + offs, h.to(h_out_ptr.dtype.element_ty), mask=mask)


def _prepare_outputs(gates: torch.Tensor, c: Optional[torch.Tensor]):
    """Buffers of the one-pass kernels.

    Returns:
        tuple: ``(gates, c, h_out, c_out, inner)``: ``gates`` as NCHW or
        channels-last (copied if neither), ``c`` in the same layout and
        dtype, empty ``h_out``/``c_out`` and the gate run length.
    """
    layout = _gate_layout(gates)
    if layout is None:
        gates = gates.contiguous()
        layout = _gate_layout(gates)
    fmt, inner = layout
    n, c4, hh, ww = gates.shape
    shape = (n, c4 // 4, hh, ww)
    h_out = torch.empty(
        shape, dtype=gates.dtype, device=gates.device, memory_format=fmt)
    c_out = torch.empty_like(h_out)
    if c is not None:
        if c.shape != shape:
            raise ValueError(f'cell state {tuple(c.shape)} does not match '
                             f'gates {tuple(gates.shape)}')
        c = c.to(gates.dtype).contiguous(memory_format=fmt)
    return gates, c, h_out, c_out, inner


def _triton_pointwise(
        gates: torch.Tensor,
        c: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """One Triton kernel launch; no autograd."""
    gates, c, h_out, c_out, inner = _prepare_outputs(gates, c)
    numel = h_out.numel()
    block = 1024
    _lstm_pointwise_kernel[(triton.cdiv(numel, block), )](
        gates,
        c if c is not None else c_out,
        h_out,
        c_out,
        numel,
        inner,
        HAS_C=c is not None,
        BLOCK=block)
    return h_out, c_out


def _cpu_pointwise(
        gates: torch.Tensor,
        c: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """One pass of the compiled CPU kernel; no autograd."""
    gates, c, h_out, c_out, inner = _prepare_outputs(gates, c)
    _cpu_ext.lstm_pointwise(gates, c, h_out, c_out, inner)
    return h_out, c_out


def cpu_kernel_available() -> bool:
    """Whether the compiled CPU kernel was built (``pip install -e .``)."""
    return _cpu_ext is not None


def triton_available() -> bool:
    """Whether the Triton kernel can be used (Triton is importable)."""
    return triton is not None


def lstm_pointwise(
        gates: torch.Tensor,
        c: Optional[torch.Tensor] = None,
        backend: str = 'auto',
        overwrite_gates: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Fused ConvLSTM point-wise update.

    Args:
        gates (Tensor): Pre-activation gates ``(i, f, g, o)`` concatenated
            along dim 1, (N, 4C, H, W), NCHW or channels-last.
        c (Tensor, optional): Cell state (N, C, H, W); ``None`` stands for a
            zero state. Defaults to None.
        backend (str): ``'auto'`` (when no gradient is recorded: Triton for
            CUDA tensors if Triton is installed, the compiled kernel for
            float32/float64 CPU tensors if it was built; PyTorch otherwise),
            ``'torch'``, ``'triton'`` or ``'cpu'`` (forced; the last two
            record no autograd graph). Defaults to ``'auto'``.
        overwrite_gates (bool): The caller no longer needs ``gates``: the
            PyTorch path may then use it as scratch space when no gradient
            is recorded (fewer and faster passes; ``tanh`` is computed as
            ``2 * sigmoid(2x) - 1``, within ~1e-7). Defaults to False.

    Returns:
        tuple[Tensor, Tensor]: The new hidden and cell states ``(h, c)``,
        each (N, C, H, W). ``c`` is not modified.

    Raises:
        ValueError: On an unknown backend or mismatched shapes.
        RuntimeError: If ``backend='triton'`` but Triton is missing, or
            ``backend='cpu'`` but the kernel was not built or the tensors
            are not float32/float64 CPU tensors.
    """
    if backend not in _BACKENDS:
        raise ValueError(f'backend must be one of {_BACKENDS}, got '
                         f'{backend!r}')
    if gates.dim() != 4 or gates.shape[1] % 4:
        raise ValueError('gates must be (N, 4C, H, W), got '
                         f'{tuple(gates.shape)}')
    if backend == 'auto':
        needs_grad = torch.is_grad_enabled() and (gates.requires_grad or
                                                  (c is not None
                                                   and c.requires_grad))
        if needs_grad:
            backend = 'torch'
        elif gates.is_cuda:
            backend = 'triton' if triton is not None else 'torch'
        elif (_cpu_ext is not None and gates.device.type == 'cpu'
              and gates.dtype in (torch.float32, torch.float64)):
            backend = 'cpu'
        else:
            backend = 'torch'
    if c is not None and c.shape[1] * 4 != gates.shape[1]:
        raise ValueError(f'cell state {tuple(c.shape)} does not match '
                         f'gates {tuple(gates.shape)}')
    if backend == 'cpu':
        if _cpu_ext is None:
            raise RuntimeError(
                'backend="cpu" needs the compiled kernel '
                '(mmderain.ops._ext): run `pip install -e .` with a C++ '
                'compiler')
        if (gates.device.type != 'cpu'
                or gates.dtype not in (torch.float32, torch.float64)):
            raise RuntimeError('backend="cpu" needs float32/float64 CPU '
                               f'tensors, got {gates.dtype} on '
                               f'{gates.device}')
        return _cpu_pointwise(gates, c)
    if backend == 'triton':
        if triton is None:
            raise RuntimeError('backend="triton" needs Triton installed')
        return _triton_pointwise(gates, c)
    return _torch_pointwise(gates, c, overwrite_gates)
