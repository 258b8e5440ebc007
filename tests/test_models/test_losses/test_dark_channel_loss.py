# Copyright (c) mmderain contributors. All rights reserved.
"""DarkChannelLoss: the official mode is SSID-KD's DCLoss((x + 1) / 2, P)
(values and CPU gradients bit for bit); the corrected mode is the dark
channel of [0, 1] data."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.losses import DarkChannelLoss
from mmderain.registry import MODELS


def official_dc_loss(img, patch_size):
    """Re-statement of ``Loss/ECLoss.DCLoss`` on CPU (no ``.cuda()``)."""
    maxpool = nn.MaxPool3d((3, patch_size, patch_size),
                           stride=1,
                           padding=(0, patch_size // 2, patch_size // 2))
    dc = maxpool(1 - img[:, None, :, :, :])
    target = torch.FloatTensor(dc.shape).zero_().to(dc.dtype)
    loss = nn.L1Loss(reduction='sum')(dc, target)
    return -loss


def _images(kind, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == 'float':  # like a network output, partly out of [0, 1]
        return torch.rand(shape, generator=g) * 1.4 - 0.2
    if kind == 'bright':  # windows all > 1 (dc < 0) or with min 1 (dc = 0)
        x = torch.randint(11, 14, shape, generator=g).float() / 10
        x[..., :3, :3] = 1.
        return x
    if kind == 'uint8':  # an 8-bit image: many ties
        return torch.randint(0, 256, shape, generator=g).float() / 255
    return torch.randint(0, 3, shape, generator=g).float() / 2  # 0, .5, 1


def _both(x, ours_fn, official_fn):
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours, theirs = ours_fn(a), official_fn(b)
    ours.backward()
    theirs.backward()
    return ours, theirs, a.grad, b.grad


@pytest.mark.parametrize('kind', ['float', 'uint8', 'ternary', 'bright'])
@pytest.mark.parametrize('patch', [2, 4, 7, 16, 128])
def test_official_mode_equals_official_function(kind, patch):
    """Odd/even P, P larger than the image, batch 2; weight 1e-6 as in
    train_*_real.py; 'bright' images have negative (|.| flips them) and
    zero (sign 0: no gradient) terms."""
    x = _images(kind, (2, 3, 19, 24), seed=patch)
    loss = DarkChannelLoss(loss_weight=1e-6, patch_size=patch)
    ours, theirs, ga, gb = _both(
        x, loss, lambda t: 1e-6 * official_dc_loss((t + 1) / 2, patch))
    assert torch.equal(ours, theirs)
    assert torch.equal(ga, gb)
    # a window min of 1 (every window at P = 128 'bright') has no gradient
    assert (ga.abs().sum() > 0) == (kind != 'bright' or patch < 19)


def test_official_mode_at_the_students_crop_size():
    """P = 128 on a batch of 2 quantised 128 x 128 crops."""
    x = _images('uint8', (2, 3, 128, 128), seed=7)
    ours, theirs, ga, gb = _both(x, DarkChannelLoss(),
                                 lambda t: official_dc_loss((t + 1) / 2, 128))
    assert torch.equal(ours, theirs) and torch.equal(ga, gb)


def test_official_mode_non_contiguous_input():
    x = _images('ternary', (2, 3, 20, 26)).transpose(2, 3)
    ours, theirs, ga, gb = _both(x, DarkChannelLoss(patch_size=10),
                                 lambda t: official_dc_loss((t + 1) / 2, 10))
    assert torch.equal(ours, theirs) and torch.equal(ga, gb)


def test_official_mean_and_none():
    x = _images('float', (2, 3, 10, 12))
    summed = DarkChannelLoss(patch_size=6)(x)
    mean = DarkChannelLoss(patch_size=6, reduction='mean')(x)
    terms = DarkChannelLoss(patch_size=6, reduction='none')(x)
    assert terms.shape == (2, 1, 11, 13)  # even P: one row/column more
    assert torch.allclose(mean * terms.numel(), summed)
    assert torch.allclose(terms.sum(), summed)


def test_magnitude_of_the_official_term():
    """A -1 in every window: each of the 2 x 129 x 129 outputs is 1, so
    1e-6 * DC = -3.3282e-2 (the spec's untrained-network figure)."""
    x = torch.zeros(2, 3, 128, 128)
    x[:, 1, ::64, ::64] = -1  # each 128-window holds one of them
    loss = DarkChannelLoss(loss_weight=1e-6)(x)
    assert loss.item() == pytest.approx(-2 * 129 * 129 * 1e-6, rel=1e-6)


def test_corrected_mode_is_the_dark_channel():
    x = _images('float', (2, 4, 9, 11), seed=3)  # any number of channels
    for patch, radius in [(5, 2), (6, 3)]:  # even P -> window P + 1
        terms = DarkChannelLoss(
            patch_size=patch, mode='corrected', reduction='none')(
                x)
        pad = F.pad(
            x.amin(1, keepdim=True), (radius, ) * 4, value=float('inf'))
        k = 2 * radius + 1
        dark = pad.unfold(2, k, 1).unfold(3, k, 1).amin((-1, -2))
        assert terms.shape == (2, 1, 9, 11)
        assert torch.equal(terms, dark)
    a = x.clone().requires_grad_()
    loss = DarkChannelLoss(2., patch_size=5, mode='corrected')
    loss(a).backward()
    summed = DarkChannelLoss(patch_size=5, mode='corrected')(x)
    mean = DarkChannelLoss(patch_size=5, mode='corrected', reduction='mean')(x)
    assert torch.allclose(loss(x), 2 * summed)
    assert torch.allclose(mean * (2 * 9 * 11), summed)
    # each output sends its weight to one pixel: 2 * 2 * 9 * 11 in all
    assert a.grad.sum().item() == pytest.approx(2 * 2 * 9 * 11)


def test_registered_and_errors():
    loss = MODELS.build(
        dict(type='DarkChannelLoss', loss_weight=1e-6, patch_size=64))
    assert isinstance(loss, DarkChannelLoss)
    assert 'patch_size=64' in repr(loss)
    with pytest.raises(ValueError, match='3, H, W'):
        DarkChannelLoss()(torch.rand(1, 4, 8, 8))
    with pytest.raises(ValueError, match='mode'):
        DarkChannelLoss(mode='fast')
    with pytest.raises(ValueError, match='reduction'):
        DarkChannelLoss(reduction='batchmean')
    with pytest.raises(ValueError, match='patch_size'):
        DarkChannelLoss(patch_size=0)
