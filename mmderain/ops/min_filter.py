# Copyright (c) mmderain contributors. All rights reserved.
"""Separable running min/max filters (stride 1) with max-pool gradients.

``max_filter(x, k, p)`` is ``F.max_pool2d(x, k, stride=1, padding=p)`` and,
with ``reduce_channels=True``, ``F.max_pool3d(x[:, None], (C, kh, kw),
stride=1, padding=(0, ph, pw))[:, 0]``: the maximum over all channels and a
``kh x kw`` window, e.g. the dark channel of He et al. (``min_filter``).
Max pooling costs ``O(C kh kw)`` per output; here the columns and then the
rows are reduced by the van Herk / Gil-Werman algorithm (prefix and suffix
maxima inside blocks of ``k`` samples, two ``torch.cummax`` scans), ``O(1)``
per sample and axis whatever the window, and then the channels by an
in-order scan (``O(C)``).

The gradient is routed exactly as PyTorch's CPU max pooling does, ties
included. Max pooling on CPU scans each window in (channel, row, column)
order and keeps a value only if it is strictly greater than the current
maximum, so among equal maxima the *first* in that order wins (measured with
torch 2.12: an all-equal window sends its gradient to its first channel,
first row, first column). Ties matter: images made from uint8 have many
equal values. Taking the first maximum along the columns, then along the
rows, then along the channels gives that same element (the lexicographically
first maximal (channel, row, column)); the backward pass accumulates the
incoming gradients with ``scatter_add_`` in output order, as max pooling's
backward does, so gradients are bit-equal to max pooling's on CPU
(``torch.equal`` in the tests). The values are equal too: they are the
input's own elements. On CUDA the values are equal but max pooling's
backward adds with atomics (in no fixed order), so its gradients may differ
from ours in the last bits.

NaN is not supported (max pooling propagates it; here the routing of its
gradient is unspecified). ``min_filter(x) = -max_filter(-x)``: negation is
exact, so the first *minimum* wins ties.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F

_Pair = Union[int, Tuple[int, int]]


def _pair(value: _Pair, name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) for v in value)):
        return int(value[0]), int(value[1])
    raise TypeError(f'{name} must be an int or a pair of ints, got {value!r}')


def _running_max(
        x: torch.Tensor, k: int, pad: int,
        with_index: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Running maximum along the last dimension (van Herk / Gil-Werman).

    The input is padded with ``pad`` times ``-inf`` on both sides; output
    ``o`` is the maximum of padded samples ``o .. o + k - 1``, and its
    index (into the unpadded input) is the first maximal sample.

    Args:
        x (Tensor): Floating-point input (..., L).
        k (int): Window length (>= 1).
        pad (int): Implicit ``-inf`` samples on each side.
        with_index (bool): Also return the indices.

    Returns:
        tuple[Tensor, Tensor | None]: Values (..., L + 2 pad - k + 1) and
        their int64 indices (or None).
    """
    length = x.shape[-1]
    out_len = length + 2 * pad - k + 1
    blocks = -(-(length + 2 * pad) // k)
    xp = F.pad(x, (pad, blocks * k - length - pad), value=-float('inf'))
    xb = xp.reshape(*x.shape[:-1], blocks, k)
    # prefix maxima inside each block, and suffix maxima (reversed scan)
    prefix = xb.cummax(-1).values
    suffix = xb.flip(-1).cummax(-1).values.flip(-1)
    flat = (*x.shape[:-1], blocks * k)
    # window o = [o, o + k - 1]: suffix of o's block, prefix up to its end
    head = suffix.reshape(flat)[..., :out_len]
    tail = prefix.reshape(flat)[..., k - 1:k - 1 + out_len]
    take_head = head >= tail  # the head lies first: it wins ties
    values = torch.where(take_head, head, tail)
    if not with_index:
        return values, None
    pos = torch.arange(k, device=x.device).expand_as(xb)
    # first maximum of a prefix: where the prefix maximum last rose
    rose = torch.ones_like(xb, dtype=torch.bool)
    rose[..., 1:] = xb[..., 1:] > prefix[..., :-1]
    prefix_idx = torch.where(rose, pos, 0).cummax(-1).values
    # first maximum of a suffix: the first later sample equal to it
    own = xb == suffix
    suffix_idx = torch.where(own, pos, k).flip(-1).cummin(-1).values.flip(-1)
    start = torch.arange(0, blocks * k, k, device=x.device)[:, None] - pad
    prefix_idx = (prefix_idx + start).reshape(flat)
    suffix_idx = (suffix_idx + start).reshape(flat)
    index = torch.where(take_head, suffix_idx[..., :out_len],
                        prefix_idx[..., k - 1:k - 1 + out_len])
    return values, index


def _filter(x: torch.Tensor, kernel: Tuple[int, int], pad: Tuple[int, int],
            reduce_channels: bool,
            with_index: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Values (N, C' , Ho, Wo) and flat indices into each sample's (C, H,
    W) (``reduce_channels``) or each plane's (H, W)."""
    n, c, h, w = x.shape
    # columns, then rows, then channels: first maximum at each stage
    v, col = _running_max(x, kernel[1], pad[1], with_index)
    v, row = _running_max(v.transpose(2, 3), kernel[0], pad[0], with_index)
    v = v.transpose(2, 3)
    if with_index:
        row = row.transpose(2, 3)
        col = col.gather(2, row)
    if not reduce_channels:
        index = row * w + col if with_index else None
        return v.contiguous(), index
    # channels (few): scanned in order, a later one wins only if greater
    best = v[:, :1]
    chan = torch.zeros_like(best, dtype=torch.long) if with_index else None
    for i in range(1, c):
        later = v[:, i:i + 1] > best
        best = torch.where(later, v[:, i:i + 1], best)
        if with_index:
            chan = torch.where(later, i, chan)
    if not with_index:
        return best.contiguous(), None
    row, col = row.gather(1, chan), col.gather(1, chan)
    return best.contiguous(), (chan * h + row) * w + col


class _MaxFilter(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: Tuple[int, int],
                pad: Tuple[int, int], reduce_channels: bool) -> torch.Tensor:
        with_index = ctx.needs_input_grad[0]
        values, index = _filter(x, kernel, pad, reduce_channels, with_index)
        if with_index:
            ctx.save_for_backward(index)
            ctx.shape = x.shape
        return values

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple:
        index, = ctx.saved_tensors
        rows = index.shape[0] * index.shape[1]
        grad_x = grad.new_zeros(ctx.shape)
        # max pooling's backward: gradInput[argmax] += gradOutput, in order
        grad_x.view(rows, -1).scatter_add_(1, index.reshape(rows, -1),
                                           grad.reshape(rows, -1))
        return grad_x, None, None, None


def _check(x: torch.Tensor, kernel_size: _Pair,
           padding: _Pair) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    if x.dim() != 4:
        raise ValueError('min/max filter: input must be (N, C, H, W), got '
                         f'shape {tuple(x.shape)}')
    if not x.is_floating_point():
        raise TypeError('min/max filter: input must be floating point, got '
                        f'{x.dtype}')
    kernel = _pair(kernel_size, 'kernel_size')
    pad = _pair(padding, 'padding')
    for k, p, size, axis in zip(kernel, pad, x.shape[2:], ('height', 'width')):
        if k < 1 or p < 0 or p > k // 2:
            raise ValueError(
                f'min/max filter: the {axis} kernel must be >= 1 and its '
                f'padding in [0, kernel // 2], got kernel {k}, padding {p}')
        if size + 2 * p < k:
            raise ValueError(
                f'min/max filter: input {axis} {size} plus padding 2 x {p} '
                f'is smaller than the kernel {k}')
    return kernel, pad


def max_filter(input: torch.Tensor,
               kernel_size: _Pair,
               padding: _Pair = 0,
               reduce_channels: bool = False) -> torch.Tensor:
    """Running maximum over a window (stride 1), optionally over channels.

    Equal to ``F.max_pool2d(input, kernel_size, 1, padding)`` or, with
    ``reduce_channels``, to ``F.max_pool3d(input[:, None], (C, kh, kw), 1,
    (0, ph, pw))[:, 0]`` (values exactly; CPU gradients bit for bit, ties
    to the first maximal (channel, row, column) as max pooling does).
    Padding is implicit ``-inf``, so a window at the border is clipped to
    the image, and the output is ``(H + 2 ph - kh + 1) x (W + 2 pw - kw +
    1)`` (even kernels included).

    Args:
        input (Tensor): Floating-point (N, C, H, W), any strides.
        kernel_size (int | tuple[int, int]): Window (kh, kw).
        padding (int | tuple[int, int]): Implicit ``-inf`` border (ph, pw),
            each at most half its kernel, as max pooling requires.
            Defaults to 0.
        reduce_channels (bool): Also take the maximum over all C channels
            (output (N, 1, Ho, Wo)). Defaults to False.

    Returns:
        Tensor: (N, C or 1, Ho, Wo), contiguous.

    Raises:
        ValueError: On a wrong shape, kernel or padding.
        TypeError: On a non-floating-point input or a malformed size.
    """
    kernel, pad = _check(input, kernel_size, padding)
    return _MaxFilter.apply(input, kernel, pad, bool(reduce_channels))


def min_filter(input: torch.Tensor,
               kernel_size: _Pair,
               padding: _Pair = 0,
               reduce_channels: bool = False) -> torch.Tensor:
    """Running minimum: ``-max_filter(-input, ...)``, ``+inf`` padding.

    With ``reduce_channels=True`` and an odd ``kernel_size = 2 padding +
    1`` this is the dark channel (He et al.), the same size as the input.
    Ties go to the first minimal (channel, row, column). See
    :func:`max_filter` for the arguments.

    Returns:
        Tensor: (N, C or 1, Ho, Wo), contiguous.
    """
    return -max_filter(-input, kernel_size, padding, reduce_channels)


def max_filter_reference(input: torch.Tensor,
                         kernel_size: _Pair,
                         padding: _Pair = 0,
                         reduce_channels: bool = False) -> torch.Tensor:
    """:func:`max_filter` by max pooling (``O(C kh kw)`` per output)."""
    kernel, pad = _check(input, kernel_size, padding)
    if not reduce_channels:
        return F.max_pool2d(input, kernel, 1, pad)
    return F.max_pool3d(input[:, None], (input.shape[1], *kernel), 1,
                        (0, *pad))[:, 0]


def min_filter_reference(input: torch.Tensor,
                         kernel_size: _Pair,
                         padding: _Pair = 0,
                         reduce_channels: bool = False) -> torch.Tensor:
    """:func:`min_filter` by max pooling of ``-input``."""
    return -max_filter_reference(-input, kernel_size, padding, reduce_channels)
