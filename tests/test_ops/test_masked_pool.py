# Copyright (c) mmderain contributors. All rights reserved.
"""masked_global_pool equals the straightforward pooling, values and grads."""
import pytest
import torch

from mmderain.ops import masked_global_pool, masked_global_pool_reference


def _inputs(binary, seed=0):
    g = torch.Generator().manual_seed(seed)
    masks = torch.rand(2, 5, 9, 7, generator=g, dtype=torch.float64)
    values = torch.randn(2, 6, 9, 7, generator=g, dtype=torch.float64)
    if binary:
        # binary masks: many tied zeros in M * v, like stage-1 DLINet masks
        masks = (masks > 0.5).double()
        values[:, 0] = -values[:, 0].abs()
    return masks, values


@pytest.mark.parametrize('binary', [False, True])
@pytest.mark.parametrize('chunk', [1, 4, 16])
def test_matches_reference_values_and_gradients(binary, chunk):
    masks, values = _inputs(binary)
    m1, v1 = masks.clone().requires_grad_(), values.clone().requires_grad_()
    m2, v2 = masks.clone().requires_grad_(), values.clone().requires_grad_()
    ours = masked_global_pool(m1, v1, chunk=chunk)
    ref = masked_global_pool_reference(m2, v2)
    g = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, generator=g, dtype=t.dtype) for t in ref]
    for a, b in zip(ours, ref):
        assert a.shape == (2, 6, 5)
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    sum((a * w).sum() for a, w in zip(ours, weights)).backward()
    sum((b * w).sum() for b, w in zip(ref, weights)).backward()
    # ties go to the first maximal pixel, as in adaptive_max_pool2d
    torch.testing.assert_close(m1.grad, m2.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(v1.grad, v2.grad, rtol=0, atol=1e-12)


def test_definition_on_a_hand_example():
    masks = torch.tensor([[[[1., 0.], [0.5, 0.]]]])  # B=1, K=1, 2x2
    values = torch.tensor([[[[2., 3.], [-4., 1.]]]])  # N=1
    avg_pos, max_pos, avg_neg, max_neg = masked_global_pool(masks, values)
    assert avg_pos.item() == pytest.approx((2 + 0 - 2 + 0) / 4)
    assert max_pos.item() == 2
    assert avg_neg.item() == pytest.approx((0 + 3 - 2 + 1) / 4)
    assert max_neg.item() == 3


def test_gradcheck():
    masks, values = _inputs(False, seed=3)
    masks.requires_grad_()
    values.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda m, v: masked_global_pool(m, v, chunk=2), (masks, values))


def test_bad_shapes():
    with pytest.raises(ValueError, match='B, K, H, W'):
        masked_global_pool(torch.rand(1, 2, 3), torch.rand(1, 2, 3, 3))
    with pytest.raises(ValueError, match='differ'):
        masked_global_pool(torch.rand(1, 2, 4, 4), torch.rand(1, 2, 3, 4))
    with pytest.raises(ValueError, match='chunk'):
        masked_global_pool(
            torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 4), chunk=0)
