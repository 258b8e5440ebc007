# Copyright (c) mmderain contributors. All rights reserved.
"""conv2d_relu: the oneDNN post-op kernel equals conv2d + relu."""
import pytest
import torch
import torch.nn.functional as F

from mmderain.ops import conv2d_relu
from mmderain.ops.conv_relu import _fused_available


@pytest.mark.parametrize('fmt', [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize('bias', [True, False])
def test_conv2d_relu_matches_two_pass(fmt, bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 13, 17, generator=g).contiguous(memory_format=fmt)
    w = torch.randn(6, 8, 3, 3, generator=g)
    b = torch.randn(6, generator=g) if bias else None
    ref = F.relu(F.conv2d(x, w, b, padding=1))
    with torch.no_grad():
        out = conv2d_relu(x, w, b)
        plain = conv2d_relu(x, w, b, fused=False)
        if _fused_available(x, w):
            fused = conv2d_relu(x, w, b, fused=True)
            torch.testing.assert_close(fused, ref, rtol=0, atol=1e-5)
            assert fused.is_contiguous(memory_format=fmt)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(plain, ref, rtol=0, atol=0)
    assert (out >= 0).all()


def test_conv2d_relu_autograd_and_errors():
    x = torch.randn(1, 4, 9, 9, requires_grad=True)
    w = torch.randn(5, 4, 3, 3, requires_grad=True)
    out = conv2d_relu(x, w, None, padding=0)
    assert out.shape == (1, 5, 7, 7)
    out.sum().backward()
    ref_x = x.detach().clone().requires_grad_()
    F.relu(F.conv2d(ref_x, w.detach(), padding=0)).sum().backward()
    torch.testing.assert_close(x.grad, ref_x.grad)
    with pytest.raises(RuntimeError, match='no autograd graph'):
        conv2d_relu(x, w, fused=True)
    with torch.no_grad(), pytest.raises(RuntimeError, match='float32'):
        conv2d_relu(x.double(), w.double(), fused=True)
