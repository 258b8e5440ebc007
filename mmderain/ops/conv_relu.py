# Copyright (c) mmderain contributors. All rights reserved.
"""3x3 convolution with the ReLU fused into it (CPU inference).

``relu(conv2d(x, w, b))`` is two passes over the output in eager PyTorch: the
convolution writes it, the ReLU reads and rewrites it. oneDNN can apply the
ReLU as a *post-op* while the convolution's output tile is still in
registers; PyTorch exposes that kernel as
``torch.ops.mkldnn._convolution_pointwise`` (the op Inductor's CPU backend
emits). :func:`conv2d_relu` uses it for float32 CPU inputs when no autograd
graph is recorded, and the plain two-pass computation otherwise (CUDA,
training, other dtypes, or a PyTorch built without oneDNN). Both give the
same values: the post-op applies ``max(0, .)`` to the same accumulator.
"""
from typing import Optional

import torch
import torch.nn.functional as F

_OP = getattr(
    getattr(torch.ops, 'mkldnn', None), '_convolution_pointwise', None)


def _fused_available(x: torch.Tensor, weight: torch.Tensor) -> bool:
    return (_OP is not None and x.device.type == 'cpu'
            and x.dtype == torch.float32 and weight.dtype == torch.float32
            and x.dim() == 4 and torch.backends.mkldnn.is_available()
            and torch.backends.mkldnn.enabled
            and not (torch.is_grad_enabled() and
                     (x.requires_grad or weight.requires_grad)))


def conv2d_relu(x: torch.Tensor,
                weight: torch.Tensor,
                bias: Optional[torch.Tensor] = None,
                padding: int = 1,
                fused: Optional[bool] = None) -> torch.Tensor:
    """``relu(conv2d(x, weight, bias, stride=1, padding=padding))``.

    Args:
        x (Tensor): Input (N, C_in, H, W), NCHW or channels-last (the output
            keeps the input's memory format).
        weight (Tensor): Kernel (C_out, C_in, k, k).
        bias (Tensor, optional): Bias (C_out,). Defaults to None.
        padding (int): Zero padding on every side. Defaults to 1.
        fused (bool, optional): Force (True) or forbid (False) the oneDNN
            post-op kernel; ``None`` (default) uses it where it applies
            (float32 CPU tensors, no autograd graph, oneDNN available).

    Returns:
        Tensor: The rectified convolution (N, C_out, H', W').

    Raises:
        RuntimeError: If ``fused=True`` but the kernel does not apply.
    """
    available = _fused_available(x, weight)
    if fused and not available:
        raise RuntimeError(
            'conv2d_relu(fused=True) needs float32 CPU tensors, oneDNN '
            'and no autograd graph')
    use = available if fused is None else fused
    if use:
        return _OP(x, weight, bias, [padding, padding], [1, 1], [1, 1], 1,
                   'relu', [], '')
    out = F.conv2d(x, weight, bias, padding=padding)
    if torch.is_grad_enabled() and out.requires_grad:
        return F.relu(out)
    return out.relu_()
