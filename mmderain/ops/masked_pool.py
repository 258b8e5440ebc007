# Copyright (c) mmderain contributors. All rights reserved.
"""Global average/max pooling of every (value map, mask) product.

DLINet's collaborative fusion scores each streak layer ``s_n`` against each
rain mask ``M_k`` from four global statistics of ``M_k * s_n`` and
``(1 - M_k) * s_n``. The straightforward code builds the two products for
every streak, (B, K, H, W) each, pools them and keeps them alive for the
backward pass. :func:`masked_global_pool` computes the same numbers without
keeping any product:

* the averages are two batched matrix products (``bmm``) over the pixels;
* the maxima are taken over chunks of streaks inside a custom autograd
  function that saves only the arg-max indices (B, N, K) and routes the
  gradient to those pixels in the backward pass, as max pooling does (the
  first maximal pixel wins ties, like ``adaptive_max_pool2d``).

Everything is written with PyTorch tensor operations, so the same code runs
on CPU and CUDA tensors.
"""
from typing import Tuple

import torch
import torch.nn.functional as F


class _MaskedMax(torch.autograd.Function):
    """``max_p M[b, k, p] * v[b, n, p]`` and ``max_p (1 - M) * v``."""

    @staticmethod
    def forward(ctx, masks: torch.Tensor, values: torch.Tensor,
                chunk: int) -> Tuple[torch.Tensor, torch.Tensor]:
        b, k, _ = masks.shape
        n = values.shape[1]
        inv = 1 - masks
        max_pos = masks.new_empty(b, n, k)
        max_neg = masks.new_empty(b, n, k)
        idx_pos = torch.empty(b, n, k, dtype=torch.long, device=masks.device)
        idx_neg = torch.empty_like(idx_pos)
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            v = values[:, sl, None, :]
            max_pos[:, sl], idx_pos[:, sl] = (masks[:, None] * v).max(-1)
            max_neg[:, sl], idx_neg[:, sl] = (inv[:, None] * v).max(-1)
        ctx.save_for_backward(masks, values, idx_pos, idx_neg)
        ctx.mark_non_differentiable(idx_pos, idx_neg)
        return max_pos, max_neg

    @staticmethod
    def backward(ctx, grad_pos: torch.Tensor, grad_neg: torch.Tensor) -> tuple:
        masks, values, idx_pos, idx_neg = ctx.saved_tensors
        grad_masks = grad_values = None
        # values at the arg-max pixels (B, N, K) and masks there (B, N, K)
        v_pos, v_neg = values.gather(2, idx_pos), values.gather(2, idx_neg)
        m_pos = masks.gather(2, idx_pos.transpose(1, 2)).transpose(1, 2)
        m_neg = masks.gather(2, idx_neg.transpose(1, 2)).transpose(1, 2)
        if ctx.needs_input_grad[0]:
            grad_masks = torch.zeros_like(masks)
            grad_masks.scatter_add_(2, idx_pos.transpose(1, 2),
                                    (grad_pos * v_pos).transpose(1, 2))
            grad_masks.scatter_add_(2, idx_neg.transpose(1, 2),
                                    (-grad_neg * v_neg).transpose(1, 2))
        if ctx.needs_input_grad[1]:
            grad_values = torch.zeros_like(values)
            grad_values.scatter_add_(2, idx_pos, grad_pos * m_pos)
            grad_values.scatter_add_(2, idx_neg, grad_neg * (1 - m_neg))
        return grad_masks, grad_values, None


def masked_global_pool(masks: torch.Tensor,
                       values: torch.Tensor,
                       chunk: int = 4) -> Tuple[torch.Tensor, ...]:
    """Global average and max of ``M_k * v_n`` and ``(1 - M_k) * v_n``.

    Args:
        masks (Tensor): Masks ``M``, (B, K, H, W).
        values (Tensor): Value maps ``v``, (B, N, H, W).
        chunk (int): Value maps per step of the max reduction; bounds the
            temporary memory to ``chunk * K`` maps. Defaults to 4.

    Returns:
        tuple[Tensor]: ``(avg_pos, max_pos, avg_neg, max_neg)``, each
        (B, N, K): e.g. ``max_pos[b, n, k] = max_{h,w} M[b,k] * v[b,n]``.

    Raises:
        ValueError: If the shapes do not match.
    """
    if masks.dim() != 4 or values.dim() != 4:
        raise ValueError('masks and values must be (B, K, H, W) and '
                         f'(B, N, H, W), got {tuple(masks.shape)} and '
                         f'{tuple(values.shape)}')
    if masks.shape[0] != values.shape[0] or (masks.shape[2:] !=
                                             values.shape[2:]):
        raise ValueError(f'masks {tuple(masks.shape)} and values '
                         f'{tuple(values.shape)} differ in batch or size')
    if chunk < 1:
        raise ValueError(f'chunk must be >= 1, got {chunk}')
    m = masks.flatten(2)
    v = values.flatten(2)
    num_pixels = m.shape[-1]
    avg_pos = torch.bmm(v, m.transpose(1, 2)) / num_pixels
    avg_neg = torch.bmm(v, (1 - m).transpose(1, 2)) / num_pixels
    max_pos, max_neg = _MaskedMax.apply(m, v, chunk)
    return avg_pos, max_pos, avg_neg, max_neg


def masked_global_pool_reference(
        masks: torch.Tensor, values: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    """Straightforward :func:`masked_global_pool` (builds every product).

    The official DLINet dataflow (average and max pooling of both products
    of every value map); used by tests and benchmarks.
    """
    b, n, h, w = values.shape
    out = []
    for prod in (masks[:, None] * values[:, :, None],
                 (1 - masks)[:, None] * values[:, :, None]):
        prod = prod.reshape(b, -1, h, w)
        out += [
            F.adaptive_avg_pool2d(prod, 1).view(b, n, -1),
            F.adaptive_max_pool2d(prod, 1).view(b, n, -1)
        ]
    return tuple(out)
