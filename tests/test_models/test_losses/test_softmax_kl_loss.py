# Copyright (c) mmderain contributors. All rights reserved.
"""SoftmaxKLLoss equals SSID-KD's F.kl_div(log_softmax(syn), softmax(real),
reduction='mean'); both codes get gradients by default."""
import warnings

import pytest
import torch
import torch.nn.functional as F

from mmderain.models.losses import SoftmaxKLLoss
from mmderain.registry import MODELS


def official_kl(code_syn, code_real):
    """The official expression (implicit softmax dim: 1 for 4-D codes)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return F.kl_div(
            F.log_softmax(code_syn), F.softmax(code_real), reduction='mean')


def _codes(seed=0, shape=(2, 48, 8, 8), scale=1.):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * scale,
            torch.randn(shape, generator=g) * scale)


def test_equals_official_values_and_gradients():
    syn, real = _codes()
    s1, r1 = syn.clone().requires_grad_(), real.clone().requires_grad_()
    s2, r2 = syn.clone().requires_grad_(), real.clone().requires_grad_()
    ours = SoftmaxKLLoss(loss_weight=1e-6)(s1, r1)
    theirs = 1e-6 * official_kl(s2, r2)
    assert torch.equal(ours, theirs)
    ours.backward()
    theirs.backward()
    assert torch.equal(s1.grad, s2.grad) and torch.equal(r1.grad, r2.grad)
    # neither side detached
    assert s1.grad.abs().sum() > 0 and r1.grad.abs().sum() > 0


def test_detach_target():
    syn, real = _codes(1)
    s, r = syn.clone().requires_grad_(), real.clone().requires_grad_()
    loss = SoftmaxKLLoss(detach_target=True)
    assert torch.equal(loss(s, r), official_kl(syn, real))
    loss(s, r).backward()
    assert r.grad is None and s.grad.abs().sum() > 0


def test_reductions_and_magnitudes():
    """'mean' is the per-position KL over C: with C = 48 a per-position KL
    of 1.4e-3 is 2.9e-5, i.e. 2.9e-11 with the weight 1e-6."""
    syn, real = _codes(2, scale=0.037)  # small differences, like init
    mean = SoftmaxKLLoss()(syn, real)
    per_position = SoftmaxKLLoss(reduction='position_mean')(syn, real)
    assert per_position.item() == pytest.approx(48 * mean.item(), rel=1e-5)
    p, log_q = F.softmax(real, 1), F.log_softmax(syn, 1)
    kl_map = (p * (p.log() - log_q)).sum(1)  # KL per position
    assert per_position.item() == pytest.approx(kl_map.mean().item(), rel=1e-4)
    assert 5e-4 < per_position.item() < 5e-3  # about the spec's 1.4e-3
    total = SoftmaxKLLoss(reduction='sum')(syn, real)
    assert total.item() == pytest.approx(mean.item() * syn.numel(), rel=1e-5)
    assert SoftmaxKLLoss(reduction='none')(syn, real).shape == syn.shape


def test_registered_and_errors():
    loss = MODELS.build(dict(type='SoftmaxKLLoss', loss_weight=1e-6))
    assert isinstance(loss, SoftmaxKLLoss)
    with pytest.raises(ValueError, match='reduction'):
        SoftmaxKLLoss(reduction='batchmean')
    with pytest.raises(ValueError, match='one shape'):
        loss(torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 5))
