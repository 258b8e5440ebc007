# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC's contrastive loss and negatives against the official code
(``models/contrastive.py``, ``train_BRN.py``, ``mix_dataset.py`` of
``Schizophreni/CoIC``), written out here; the torchvision transforms of the
official data loader are run directly when torchvision is installed."""
import pytest
import torch
import torch.nn.functional as F

from mmderain.models.editors.coic import (CoICContrastiveLoss,
                                          contrastive_logits, detail_negatives,
                                          hardest_rain_negative)
from mmderain.models.editors.coic.coic_contrastive_loss import (
    gaussian_kernel1d, hardest_rain_index)
from mmderain.registry import MODELS


def _features(b=3, n=5, c=16, h=4, w=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(b, c, h, w, generator=g), dim=1)
    k = F.normalize(torch.randn(b, c, h, w, generator=g), dim=1)
    negs = F.normalize(torch.randn(b, n, c, h, w, generator=g), dim=2)
    return q, k, negs


def _official_logits(q_feat, k_feat, neg_feat, temperature=1.0):
    """``MoCo.forward`` after the encoders."""
    b, n_neg, fc, fh, fw = neg_feat.shape
    q_feat = q_feat.view(b, fc * fh * fw)
    k_feat = k_feat.reshape(b, fc * fh * fw)
    neg_feat = neg_feat.reshape(b, n_neg, fc * fh * fw)
    l_pos = (q_feat * k_feat).sum(dim=-1, keepdims=True) / (fh * fw)
    l_neg = (q_feat.unsqueeze(1) * neg_feat).sum(dim=-1) / (fh * fw)
    logits = torch.cat([l_pos, l_neg], dim=1)
    return logits / temperature


def test_logits_match_official():
    q, k, negs = _features()
    sims = contrastive_logits(q, k, negs)
    assert sims.shape == (3, 6)
    torch.testing.assert_close(
        sims, _official_logits(q, k, negs), rtol=0, atol=1e-6)
    # mean per-pixel cosine similarity: 1 for identical maps
    torch.testing.assert_close(
        contrastive_logits(q, q, q[:, None])[:, 0], torch.ones(3))


def test_logits_validate_shapes():
    q, k, negs = _features()
    with pytest.raises(ValueError, match='negatives'):
        contrastive_logits(q, k, negs[:, 0])
    with pytest.raises(ValueError, match='negatives'):
        contrastive_logits(q, k[:2], negs)


@pytest.mark.parametrize('temperature', [1.0, 0.2])
def test_loss_matches_official(temperature):
    q, k, negs = _features()
    official = 0.2 * torch.nn.CrossEntropyLoss()(_official_logits(
        q, k, negs, temperature), torch.zeros(3, dtype=torch.long))
    loss = CoICContrastiveLoss(temperature=temperature)
    torch.testing.assert_close(
        loss(contrastive_logits(q, k, negs)), official, rtol=0, atol=1e-6)
    torch.testing.assert_close(loss(q, k, negs), official, rtol=0, atol=1e-6)
    weighted = CoICContrastiveLoss(loss_weight=1.0, temperature=temperature)
    torch.testing.assert_close(weighted(q, k, negs), official / 0.2)


def test_loss_is_low_when_the_positive_wins():
    q, _, negs = _features()
    loss = CoICContrastiveLoss(loss_weight=1.0, temperature=0.1)
    assert loss(q, q, negs) < 0.01 < loss(q, negs[:, 0], negs)


def test_loss_validates_arguments():
    q, k, negs = _features()
    loss = CoICContrastiveLoss()
    with pytest.raises(ValueError, match='both key and negatives'):
        loss(q, k)
    with pytest.raises(ValueError, match=r'\(B, 1 \+ N\)'):
        loss(torch.zeros(3, 1))
    with pytest.raises(ValueError, match='temperature'):
        CoICContrastiveLoss(temperature=0)
    built = MODELS.build(dict(type='CoICContrastiveLoss', loss_weight=0.5))
    assert isinstance(built, CoICContrastiveLoss)
    assert built.loss_weight == 0.5 and built.temperature == 1.0


def _official_hardest(im_rain):
    """``train_BRN.py``: bank = batch, brute force."""
    diff_rain = (im_rain.unsqueeze(1) -
                 im_rain.unsqueeze(0)).abs().sum(dim=[2, 3, 4])
    return im_rain[torch.argmax(diff_rain, dim=-1)]


@pytest.mark.parametrize('seed', range(4))
def test_hardest_rain_matches_official(seed):
    g = torch.Generator().manual_seed(seed)
    # rain layers of different strength: clear arg-max
    rain = torch.rand(
        6, 3, 10, 12, generator=g) * torch.rand(
            6, 1, 1, 1, generator=g)
    ours = hardest_rain_negative(rain, rain)
    assert torch.equal(ours, _official_hardest(rain))
    # a bank larger than the batch (RCDNet, DGUNet, DRSformer)
    bank = torch.rand(10, 3, 10, 12, generator=g)
    dist = (rain[:, None] - bank[None]).abs().sum(dim=[2, 3, 4])
    assert torch.equal(hardest_rain_index(rain, bank), dist.argmax(-1))
    assert torch.equal(
        hardest_rain_negative(rain, bank), bank[dist.argmax(-1)])


def test_hardest_rain_edge_cases():
    rain = torch.rand(1, 3, 4, 4)
    assert torch.equal(hardest_rain_negative(rain, rain), rain)
    with pytest.raises(ValueError, match='equal layers'):
        hardest_rain_negative(rain, torch.rand(2, 3, 4, 5))


def _tv():
    return pytest.importorskip('torchvision.transforms')


def test_gaussian_kernel_matches_torchvision():
    _tv()
    from torchvision.transforms._functional_tensor import \
        _get_gaussian_kernel1d
    sigma = torch.tensor([0.3, 0.77, 1.5])
    ours = gaussian_kernel1d(sigma, 11, torch.float32)
    for s, k in zip(sigma.tolist(), ours):
        ref = _get_gaussian_kernel1d(11, s, torch.float32, 'cpu')
        torch.testing.assert_close(k, ref, rtol=0, atol=1e-7)


@pytest.mark.parametrize('seed', range(6))
def test_batch_draws_reproduce_official_transforms(seed):
    transforms = _tv()
    neg_transform = transforms.Compose([
        transforms.GaussianBlur(kernel_size=11, sigma=(0.3, 1.5)),
        transforms.RandomHorizontalFlip(),
        transforms.RandomVerticalFlip(),
    ])
    k_transform = transforms.Compose(
        [transforms.RandomHorizontalFlip(),
         transforms.RandomVerticalFlip()])
    g = torch.Generator().manual_seed(100 + seed)
    im_q = torch.rand(3, 3, 16, 18, generator=g)
    clean = torch.rand(3, 3, 16, 18, generator=g)
    b, n = 3, 4
    torch.manual_seed(seed)  # the official order of draws
    off_k = k_transform(im_q)
    off_negs = neg_transform(
        clean.unsqueeze(1).repeat(1, n, 1, 1, 1).reshape(b * n, 3, 16, 18))
    off_negs = off_negs.reshape(b, n, 3, 16, 18)
    torch.manual_seed(seed)
    im_k = detail_negatives(im_q, 1, blur=False)[:, 0]
    negs = detail_negatives(clean, n)
    assert torch.equal(im_k, off_k)
    assert negs.shape == (b, n, 3, 16, 18)
    torch.testing.assert_close(negs, off_negs, rtol=0, atol=1e-6)


def test_batch_draws_repeat_one_negative():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 16, 16, generator=g).expand(4, 3, 16, 16)
    negs = detail_negatives(x, 3, generator=g)
    # identical copies, and the same transform for every sample
    assert (negs == negs[:1, :1]).all()
    assert not torch.allclose(negs[0, 0], x[0])  # blurred


def test_per_sample_draws_differ():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 16, 16, generator=g).expand(4, 3, 16, 16)
    negs = detail_negatives(x, 3, per_sample=True, generator=g)
    flat = negs.reshape(12, -1)
    # 12 draws of (sigma, flips): all different blurs
    assert torch.cdist(flat, flat).add(torch.eye(12)).min() > 1e-4
    # each one is a blurred, flipped copy of the image
    sums = negs.sum(dim=(-1, -2))
    torch.testing.assert_close(
        sums, x.sum(dim=(-1, -2))[:, None].expand(4, 3, 3), rtol=0.02, atol=0)


def test_per_sample_matches_per_copy_transforms():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 14, 15, generator=g)
    negs = detail_negatives(
        x, 2, per_sample=True, generator=torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(9)
    sigma = torch.empty(4).uniform_(0.3, 1.5, generator=g)
    hflip = torch.rand(4, generator=g) < 0.5
    vflip = torch.rand(4, generator=g) < 0.5
    for i in range(4):
        k1 = gaussian_kernel1d(sigma[i:i + 1], 11, torch.float32)[0]
        k2 = torch.outer(k1, k1).expand(3, 1, 11, 11)
        img = x[i // 2:i // 2 + 1]
        ref = F.conv2d(F.pad(img, [5] * 4, mode='reflect'), k2, groups=3)
        if hflip[i]:
            ref = ref.flip(-1)
        if vflip[i]:
            ref = ref.flip(-2)
        torch.testing.assert_close(
            negs[i // 2, i % 2], ref[0], rtol=0, atol=1e-6)


def test_constant_image_and_no_blur():
    x = torch.full((2, 3, 12, 12), 0.25)
    torch.testing.assert_close(
        detail_negatives(x, 2), x[:, None].expand(2, 2, 3, 12, 12))
    y = torch.rand(2, 3, 12, 12)
    out = detail_negatives(
        y,
        1,
        blur=False,
        per_sample=True,
        generator=torch.Generator().manual_seed(0))[:, 0]
    for o, i in zip(out, y):  # flips only
        assert any(
            torch.equal(o, f)
            for f in (i, i.flip(-1), i.flip(-2), i.flip(-1).flip(-2)))


def test_negatives_validate():
    x = torch.rand(2, 3, 12, 12)
    with pytest.raises(ValueError, match=r'\(B, C, h, w\)'):
        detail_negatives(x[0], 2)
    with pytest.raises(ValueError, match='num'):
        detail_negatives(x, 0)
    with pytest.raises(ValueError, match='odd'):
        detail_negatives(x, 2, kernel_size=4)
    with pytest.raises(ValueError, match='sigma'):
        detail_negatives(x, 2, sigma=(1.0, 0.5))
