# Copyright (c) mmderain contributors. All rights reserved.
"""Instance-modulated convolution of CoIC's CoI-M layer (``TConv``).

CoIC (Ran et al., ICLR 2024, official code ``Schizophreni/CoIC``,
``models/CoIM.py``) reweights every k x k kernel of a convolution per sample.
From three per-sample vectors predicted by a small MLP, ``w1`` (B, C_out),
``w2`` (B, C_in/G) and ``w3`` (B, k*k), the official ``TConv`` computes::

    T = sigmoid(w1[:, None, :] + w2[:, :, None])        # (B, C_in/G, C_out)
    A = k*k * softmax_taps(T[..., None] * w3[:, None, None, :])
    A = A.view(B, C_out, C_in/G, k, k)                  # a view, no transpose
    y_b = conv2d(x_b, W * A_b, bias) for every sample b

so ``A`` averages 1 over the taps and ``T`` in (0, 1) is an inverse
temperature on a per-sample tap profile ``w3``. Note the ``view``: ``T`` is
built as (C_in/G, C_out) and *reinterpreted* as (C_out, C_in/G), so the
(output, input) channel pair of ``W[o', i']`` is scaled with
``sigmoid(w1[m % C_out] + w2[m // C_out])``, ``m = o' * C_in/G + i'``; the
official checkpoints learned it that way, and it is reproduced exactly.

:func:`coim_modulation` computes ``A`` with a custom autograd function whose
backward is the analytic formula (it keeps only the small ``w1, w2, w3``),
and, for CUDA tensors, with one fused Triton kernel (sigmoid, product,
softmax over the taps and the scale in registers; the backward stays the
PyTorch formula). :func:`instance_modulated_conv2d` is the batched exact
convolution: the per-sample kernels ``W * A_b`` stacked to
(B*C_out, C_in/G, k, k) and one grouped ``F.conv2d`` with ``groups = B*G``
over the batch folded into the channels, as officially; by default inside
an autograd function that saves only ``x``, ``W`` and the small vectors and
rebuilds ``A`` and ``W * A`` in the backward pass (less memory, same
speed). :func:`instance_modulated_conv2d_reference` is the naive per-sample
loop, for tests and benchmarks.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

try:  # Triton is optional: only the CUDA forward of the modulation uses it
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None

_BACKENDS = ('auto', 'torch', 'triton')
_IntPair = Union[int, Sequence[int]]


def triton_available() -> bool:
    """Whether the Triton kernel can be used (Triton is importable)."""
    return triton is not None


# --------------------------------------------------------------------- #
# the modulation A
# --------------------------------------------------------------------- #
def _check_vectors(w1: torch.Tensor, w2: torch.Tensor,
                   w3: torch.Tensor) -> Tuple[int, int, int, int]:
    """Validate ``w1, w2, w3``; returns ``(B, C_out, C_in/G, taps)``."""
    if w1.dim() != 2 or w2.dim() != 2 or w3.dim() != 2:
        raise ValueError('w1, w2, w3 must be (B, C_out), (B, C_in/G) and '
                         f'(B, k*k), got {tuple(w1.shape)}, '
                         f'{tuple(w2.shape)} and {tuple(w3.shape)}')
    if not w1.shape[0] == w2.shape[0] == w3.shape[0]:
        raise ValueError('w1, w2, w3 must have the same batch size, got '
                         f'{tuple(w1.shape)}, {tuple(w2.shape)} and '
                         f'{tuple(w3.shape)}')
    return w1.shape[0], w1.shape[1], w2.shape[1], w3.shape[1]


def coim_modulation_reference(w1: torch.Tensor, w2: torch.Tensor,
                              w3: torch.Tensor) -> torch.Tensor:
    """The modulation written as the official ``TConv.forward`` does.

    Args:
        w1 (Tensor): (B, C_out).
        w2 (Tensor): (B, C_in/G).
        w3 (Tensor): (B, k*k).

    Returns:
        Tensor: ``A`` (B, C_out, C_in/G, k*k) (plain autograd operations).
    """
    b, c_out, c_in_g, taps = _check_vectors(w1, w2, w3)
    att = torch.sigmoid(w1.unsqueeze(1) + w2.unsqueeze(-1))
    att = att.unsqueeze(-1) * w3.view(b, 1, 1, -1)
    att = torch.softmax(att, dim=-1)
    return att.view(b, c_out, c_in_g, taps) * taps


def _modulation_torch(w1: torch.Tensor, w2: torch.Tensor,
                      w3: torch.Tensor) -> torch.Tensor:
    """``A`` (B, C_out, C_in/G, taps) with PyTorch operations.

    The softmax is written out: since ``T >= 0``, the largest logit of a
    row is ``T * max_p w3[p]``, so ``exp(T * (w3 - max w3))`` is the stable
    numerator (values <= 1, the largest 1) without a per-row maximum. Same
    values as ``torch.softmax`` within float rounding (~1e-7 relative), and
    several times faster on CPU, where ATen's softmax over a short last
    dimension (k*k = 9) is slow.
    """
    b, c_out, c_in_g, taps = w1.shape[0], w1.shape[1], w2.shape[1], \
        w3.shape[1]
    t = torch.sigmoid(w1.unsqueeze(1) + w2.unsqueeze(-1)).unsqueeze(-1)
    shifted = (w3 - w3.amax(dim=-1, keepdim=True)).view(b, 1, 1, taps)
    e = (t * shifted).exp_()
    a = e.div_(e.sum(dim=-1, keepdim=True)).mul_(taps)
    return a.view(b, c_out, c_in_g, taps)


if triton is not None:

    @triton.jit
    def _coim_modulation_kernel(w1_ptr, w2_ptr, w3_ptr, out_ptr, rows, c_out,
                                c_in_g, taps, scale, BLOCK_R: tl.constexpr,
                                BLOCK_P: tl.constexpr):
        # one row = one (sample, memory position m) with m = i * C_out + o
        r = tl.program_id(0).to(tl.int64) * BLOCK_R + tl.arange(0, BLOCK_R)
        p = tl.arange(0, BLOCK_P)
        rmask = r < rows
        pmask = p < taps
        m_per_b = c_out * c_in_g
        b = r // m_per_b
        m = r - b * m_per_b
        i = m // c_out
        o = m - i * c_out
        u1 = tl.load(w1_ptr + b * c_out + o, mask=rmask, other=0.)
        u2 = tl.load(w2_ptr + b * c_in_g + i, mask=rmask, other=0.)
        t = tl.sigmoid(u1.to(tl.float32) + u2.to(tl.float32))
        mask2 = rmask[:, None] & pmask[None, :]
        w3 = tl.load(
            w3_ptr + b[:, None] * taps + p[None, :], mask=mask2, other=0.)
        s = t[:, None] * w3.to(tl.float32)
        s = tl.where(pmask[None, :], s, float('-inf'))
        e = tl.exp(s - tl.max(s, 1)[:, None])
        e = tl.where(pmask[None, :], e, 0.)
        a = e / tl.sum(e, 1)[:, None] * scale
        tl.store(
            out_ptr + r[:, None] * taps + p[None, :],
            a.to(out_ptr.dtype.element_ty),
            mask=mask2)


def _modulation_triton(w1: torch.Tensor, w2: torch.Tensor,
                       w3: torch.Tensor) -> torch.Tensor:
    """``A`` with one Triton kernel launch; no autograd."""
    b, c_out, c_in_g, taps = w1.shape[0], w1.shape[1], w2.shape[1], \
        w3.shape[1]
    w1, w2, w3 = w1.contiguous(), w2.contiguous(), w3.contiguous()
    out = w1.new_empty(b, c_out, c_in_g, taps)
    rows = b * c_out * c_in_g
    if rows == 0:
        return out
    block_p = triton.next_power_of_2(taps)
    block_r = max(1, min(128, 4096 // block_p))
    _coim_modulation_kernel[(triton.cdiv(rows, block_r), )](
        w1,
        w2,
        w3,
        out,
        rows,
        c_out,
        c_in_g,
        taps,
        float(taps),
        BLOCK_R=block_r,
        BLOCK_P=block_p)
    return out


def _modulation_forward(w1: torch.Tensor, w2: torch.Tensor, w3: torch.Tensor,
                        backend: str) -> torch.Tensor:
    """Dispatch the forward computation of ``A`` (no autograd)."""
    if backend == 'auto':
        backend = 'triton' if (triton is not None and w1.is_cuda) else 'torch'
    if backend == 'triton':
        return _modulation_triton(w1, w2, w3)
    return _modulation_torch(w1, w2, w3)


def _modulation_backward(
    grad: torch.Tensor,
    w1: torch.Tensor,
    w2: torch.Tensor,
    w3: torch.Tensor,
    a: Optional[torch.Tensor] = None
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Analytic gradients of ``A`` with respect to ``w1, w2, w3``.

    With ``A = K * softmax_p(S)``, ``S = T * w3``, ``T = sigmoid(u)``,
    ``u = w1[o] + w2[i]``::

        dS = A * (dA - sum_p(dA * A) / K)
        dT = sum_p dS * w3[p]          dw3 = sum_{i,o} dS * T
        du = dT * T * (1 - T)          dw1 = sum_i du,  dw2 = sum_o du

    Args:
        grad (Tensor): ``dL/dA`` (B, C_out, C_in/G, K) (any layout).
        w1, w2, w3 (Tensor): The inputs of the forward pass.
        a (Tensor, optional): ``A`` if already computed.

    Returns:
        tuple[Tensor]: ``(dw1, dw2, dw3)``.
    """
    b, c_out, c_in_g, taps = w1.shape[0], w1.shape[1], w2.shape[1], \
        w3.shape[1]
    t = torch.sigmoid(w1.unsqueeze(1) + w2.unsqueeze(-1))  # (B, Cig, Co)
    if a is None:
        a = _modulation_torch(w1, w2, w3)
    a = a.reshape(b, c_in_g, c_out, taps)  # memory layout of the forward
    grad = grad.reshape(b, c_in_g, c_out, taps)
    ds = grad - (grad * a).sum(-1, keepdim=True).div_(taps)
    ds.mul_(a)
    dt = torch.einsum('bioq,bq->bio', ds, w3)
    dw3 = torch.einsum('bioq,bio->bq', ds, t)
    du = dt.mul_(t * (1 - t))
    return du.sum(1), du.sum(2), dw3


class _CoIMModulation(torch.autograd.Function):
    """``A = K * softmax_p(sigmoid(w1 + w2) * w3)``; analytic backward."""

    @staticmethod
    def forward(ctx, w1: torch.Tensor, w2: torch.Tensor, w3: torch.Tensor,
                backend: str) -> torch.Tensor:
        ctx.save_for_backward(w1, w2, w3)
        return _modulation_forward(w1, w2, w3, backend)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple:
        w1, w2, w3 = ctx.saved_tensors
        dw1, dw2, dw3 = _modulation_backward(grad, w1, w2, w3)
        return dw1, dw2, dw3, None


def _check_backend(backend: str) -> None:
    if backend not in _BACKENDS:
        raise ValueError(f'backend must be one of {_BACKENDS}, got '
                         f'{backend!r}')
    if backend == 'triton' and triton is None:
        raise RuntimeError('backend="triton" needs Triton installed')


def coim_modulation(w1: torch.Tensor,
                    w2: torch.Tensor,
                    w3: torch.Tensor,
                    backend: str = 'auto') -> torch.Tensor:
    """Per-sample kernel scale ``A`` of CoIC's CoI-M layer.

    ``A = k*k * softmax_taps(sigmoid(w1[o] + w2[i]) * w3[p])`` laid out as
    the official ``TConv`` (see the module docstring for its ``view``).
    Differentiable; the backward pass is the analytic formula and keeps only
    ``w1, w2, w3`` (no intermediate of size (B, C_out, C_in/G, k*k)).

    Args:
        w1 (Tensor): Output-channel logits (B, C_out).
        w2 (Tensor): Input-channel logits (B, C_in/G).
        w3 (Tensor): Tap logits (B, k*k).
        backend (str): ``'auto'`` (Triton for CUDA tensors when installed,
            PyTorch otherwise), ``'torch'`` or ``'triton'`` (forward only;
            the backward is always the PyTorch formula). Defaults to
            ``'auto'``.

    Returns:
        Tensor: ``A`` (B, C_out, C_in/G, k*k), mean 1 over the last dim.

    Raises:
        ValueError: On mismatched shapes or an unknown backend.
        RuntimeError: If ``backend='triton'`` but Triton is missing.
    """
    _check_vectors(w1, w2, w3)
    _check_backend(backend)
    return _CoIMModulation.apply(w1, w2, w3, backend)


# --------------------------------------------------------------------- #
# the convolution
# --------------------------------------------------------------------- #
def _pair(v: _IntPair, name: str) -> Tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(e) for e in v)
    if len(v) != 2:
        raise ValueError(f'{name} must be an int or a pair, got {v}')
    return v


def _check_conv_args(x: torch.Tensor, weight: torch.Tensor,
                     bias: Optional[torch.Tensor], w1: torch.Tensor,
                     w2: torch.Tensor, w3: torch.Tensor, groups: int) -> None:
    if x.dim() != 4 or weight.dim() != 4:
        raise ValueError('x and weight must be (B, C_in, H, W) and '
                         f'(C_out, C_in/G, kh, kw), got {tuple(x.shape)} '
                         f'and {tuple(weight.shape)}')
    b, c_in = x.shape[:2]
    c_out, c_in_g, kh, kw = weight.shape
    if groups < 1 or c_in % groups or c_out % groups or (c_in // groups !=
                                                         c_in_g):
        raise ValueError(f'weight {tuple(weight.shape)} does not match '
                         f'{c_in} input channels in {groups} groups')
    expected = ((b, c_out), (b, c_in_g), (b, kh * kw))
    got = (tuple(w1.shape), tuple(w2.shape), tuple(w3.shape))
    if got != expected:
        raise ValueError(f'w1, w2, w3 must be {expected} for x '
                         f'{tuple(x.shape)} and weight '
                         f'{tuple(weight.shape)}, got {got}')
    if bias is not None and tuple(bias.shape) != (c_out, ):
        raise ValueError(f'bias must be ({c_out},), got {tuple(bias.shape)}')


def _batched_weight(weight: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Per-sample kernels ``W * A_b`` stacked to (B*C_out, C_in/G, kh, kw)."""
    c_out, c_in_g, kh, kw = weight.shape
    return (weight.unsqueeze(0) * a.view(-1, c_out, c_in_g, kh, kw)).view(
        -1, c_in_g, kh, kw)


def _grouped_conv(x: torch.Tensor, wb: torch.Tensor,
                  bias: Optional[torch.Tensor], stride, padding, dilation,
                  groups: int) -> torch.Tensor:
    """One convolution of the batch folded into the channels."""
    b, _, h, w = x.shape
    out = F.conv2d(
        x.reshape(1, -1, h, w), wb, None if bias is None else bias.repeat(b),
        stride, padding, dilation, b * groups)
    return out.view(b, -1, *out.shape[2:])


class _InstanceModulatedConv(torch.autograd.Function):
    """Batched modulated convolution that rebuilds ``W * A`` in backward."""

    @staticmethod
    def forward(ctx, x, weight, bias, w1, w2, w3, stride, padding, dilation,
                groups):
        a = _modulation_forward(w1, w2, w3, 'auto')
        out = _grouped_conv(x, _batched_weight(weight, a), bias, stride,
                            padding, dilation, groups)
        ctx.save_for_backward(x, weight, w1, w2, w3)
        ctx.conf = (bias is not None, stride, padding, dilation, groups)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight, w1, w2, w3 = ctx.saved_tensors
        has_bias, stride, padding, dilation, groups = ctx.conf
        need = ctx.needs_input_grad
        need_wb = need[1] or need[3] or need[4] or need[5]
        b, c_in, h, w = x.shape
        c_out, c_in_g, kh, kw = weight.shape
        a = _modulation_forward(w1, w2, w3, 'auto')
        wb = _batched_weight(weight, a)
        grad_x, grad_wb, grad_b = torch.ops.aten.convolution_backward(
            grad_out.reshape(1, b * c_out, *grad_out.shape[2:]),
            x.reshape(1, b * c_in, h,
                      w), wb, [b * c_out] if has_bias else None, list(stride),
            list(padding), list(dilation), False, [0, 0], b * groups,
            [need[0], need_wb, has_bias and need[2]])
        grads = [None] * 10
        if need[0]:
            grads[0] = grad_x.view(b, c_in, h, w)
        if has_bias and need[2]:
            grads[2] = grad_b.view(b, c_out).sum(0)
        if need_wb:
            grad_wb = grad_wb.view(b, c_out, c_in_g, kh * kw)
            if need[1]:
                grads[1] = torch.einsum('bock,bock->ock', grad_wb,
                                        a).view_as(weight)
            if need[3] or need[4] or need[5]:
                grad_a = grad_wb.mul_(weight.view(1, c_out, c_in_g, -1))
                grads[3:6] = _modulation_backward(grad_a, w1, w2, w3, a)
        return tuple(grads)


def _explicit_padding(x: torch.Tensor, weight: torch.Tensor,
                      padding: Union[str, _IntPair], dilation: Tuple[int,
                                                                     int]):
    """Integer padding for ``padding`` (``'same'``/``'valid'`` resolved).

    Returns ``(x, padding)``: ``x`` padded on the right/bottom where
    ``'same'`` needs an odd total padding (as ``F.conv2d`` does).
    """
    if not isinstance(padding, str):
        return x, _pair(padding, 'padding')
    if padding == 'valid':
        return x, (0, 0)
    if padding != 'same':
        raise ValueError("padding must be an int, a pair, 'same' or "
                         f"'valid', got {padding!r}")
    totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
    extra = [t % 2 for t in totals]
    if any(extra):
        x = F.pad(x, (0, extra[1], 0, extra[0]))
    return x, (totals[0] // 2, totals[1] // 2)


def instance_modulated_conv2d(x: torch.Tensor,
                              weight: torch.Tensor,
                              bias: Optional[torch.Tensor],
                              w1: torch.Tensor,
                              w2: torch.Tensor,
                              w3: torch.Tensor,
                              stride: _IntPair = 1,
                              padding: Union[str, _IntPair] = 0,
                              dilation: _IntPair = 1,
                              groups: int = 1,
                              memory_efficient: bool = True) -> torch.Tensor:
    """Convolution with a per-sample CoI-M kernel ``W * A_b``.

    ``y_b = conv2d(x_b, W * A_b, bias, stride, padding, dilation, groups)``
    with ``A = coim_modulation(w1, w2, w3)`` reshaped to ``W``'s shape, for
    all samples at once (one grouped convolution, ``groups = B * G``, as the
    official ``BaseConv``).

    Args:
        x (Tensor): Input (B, C_in, H, W).
        weight (Tensor): Shared kernel (C_out, C_in/G, kh, kw).
        bias (Tensor, optional): Bias (C_out,), not modulated.
        w1 (Tensor): (B, C_out).
        w2 (Tensor): (B, C_in/G).
        w3 (Tensor): (B, kh*kw).
        stride (int | tuple[int]): Stride. Defaults to 1.
        padding (int | tuple[int] | str): Zero padding (or ``'same'``,
            ``'valid'``). Defaults to 0.
        dilation (int | tuple[int]): Dilation. Defaults to 1.
        groups (int): Groups ``G``. Defaults to 1.
        memory_efficient (bool): Use an autograd function that keeps only
            ``x``, ``W`` and ``w1, w2, w3`` for the backward pass and
            rebuilds ``A`` and ``W * A`` there (first-order gradients only);
            False records the official dataflow with plain autograd
            operations (also used under autocast). Defaults to True.

    Returns:
        Tensor: Output (B, C_out, H', W').

    Raises:
        ValueError: On inconsistent shapes.
    """
    _check_conv_args(x, weight, bias, w1, w2, w3, groups)
    stride, dilation = _pair(stride, 'stride'), _pair(dilation, 'dilation')
    if (not memory_efficient or torch.is_autocast_enabled(x.device.type)):
        a = coim_modulation(w1, w2, w3)
        return _grouped_conv(x, _batched_weight(weight, a), bias, stride,
                             padding, dilation, groups)
    if padding == 'same' and stride != (1, 1):
        raise ValueError("padding='same' needs stride 1, got stride "
                         f'{stride}')
    x, padding = _explicit_padding(x, weight, padding, dilation)
    return _InstanceModulatedConv.apply(x, weight, bias, w1, w2, w3, stride,
                                        padding, dilation, groups)


def instance_modulated_conv2d_reference(x: torch.Tensor,
                                        weight: torch.Tensor,
                                        bias: Optional[torch.Tensor],
                                        w1: torch.Tensor,
                                        w2: torch.Tensor,
                                        w3: torch.Tensor,
                                        stride: _IntPair = 1,
                                        padding: Union[str, _IntPair] = 0,
                                        dilation: _IntPair = 1,
                                        groups: int = 1) -> torch.Tensor:
    """Naive :func:`instance_modulated_conv2d`: a Python loop over samples.

    Each sample's modulation is :func:`coim_modulation_reference` (the
    official formula) and its convolution a separate ``F.conv2d``; plain
    autograd operations. For tests and benchmarks.
    """
    _check_conv_args(x, weight, bias, w1, w2, w3, groups)
    outs = []
    for i in range(x.shape[0]):
        a = coim_modulation_reference(w1[i:i + 1], w2[i:i + 1], w3[i:i + 1])
        outs.append(
            F.conv2d(x[i:i + 1], weight * a.view_as(weight), bias, stride,
                     padding, dilation, groups))
    return torch.cat(outs)
