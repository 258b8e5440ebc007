# Copyright (c) mmderain contributors. All rights reserved.
"""TVLoss equals SSID-KD's TVLossL1 (its [-1, 1, 0] convolutions)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.losses import TVLoss
from mmderain.registry import MODELS


def _grad_conv(channels, horizontal):
    """``Loss/grad_conv.grad_conv_hor``/``_vet`` for any number of
    channels, on CPU."""
    kernel = (1, 3) if horizontal else (3, 1)
    conv = nn.Conv2d(
        channels,
        channels,
        kernel,
        stride=1,
        padding=(0, 1) if horizontal else (1, 0))
    weight = torch.zeros(channels, channels, *kernel)
    taps = torch.tensor([-1., 1., 0.])
    for i in range(channels):
        weight[i, i] = taps.view(kernel)
    conv.weight = nn.Parameter(weight, requires_grad=False)
    conv.bias = nn.Parameter(torch.zeros(channels), requires_grad=False)
    return conv


def official_tv_loss(img):
    """Re-statement of ``Loss/TVLossL1.TVLossL1`` (CPU)."""
    hor = _grad_conv(img.shape[1], True)(img)
    vet = _grad_conv(img.shape[1], False)(img)
    target = torch.zeros(img.shape)
    return (F.l1_loss(hor, target, reduction='sum') +
            F.l1_loss(vet, target, reduction='sum'))


@pytest.mark.parametrize('channels', [1, 3, 5])
@pytest.mark.parametrize('quantised', [False, True])
@pytest.mark.parametrize('weight', [1., 1e-6])
def test_equals_official_conv_form(channels, quantised, weight):
    """Bit-equal values and gradients, also with SSID-KD's weight 1e-6
    (the gradient's rounding is the official one)."""
    g = torch.Generator().manual_seed(channels)
    x = torch.rand(2, channels, 33, 37, generator=g) * 1.4 - 0.2
    if quantised:  # equal neighbours: zero differences (sign 0)
        x = (x * 4).round() / 4
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = TVLoss(weight)(a)
    theirs = weight * official_tv_loss(b)
    assert torch.equal(ours, theirs)
    ours.backward()
    theirs.backward()
    assert torch.equal(a.grad, b.grad)


def test_border_terms_and_weight():
    """A constant image c: only the first row and column count, |c| each."""
    x = torch.full((1, 2, 4, 6), -0.5)
    assert TVLoss()(x).item() == pytest.approx(0.5 * 2 * (4 + 6))
    assert TVLoss(1e-6)(x).item() == pytest.approx(1e-6 * 10)
    mean = TVLoss(reduction='mean')(x)
    assert mean.item() == pytest.approx(10 / 48)
    terms = TVLoss(reduction='none')(x)
    assert terms.shape == x.shape
    assert terms.sum().item() == pytest.approx(10)


def test_registered_and_errors():
    assert isinstance(MODELS.build(dict(type='TVLoss')), TVLoss)
    with pytest.raises(ValueError, match='reduction'):
        TVLoss(reduction='batchmean')
    with pytest.raises(ValueError, match='N, C, H, W'):
        TVLoss()(torch.rand(3, 8, 8))
