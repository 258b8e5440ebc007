# Copyright (c) mmderain contributors. All rights reserved.
import pytest
import torch

from mmderain.models.losses import SSIMLoss, gaussian_window, ssim


def test_gaussian_window_normalised():
    w = gaussian_window(11, 1.5)
    assert w.shape == (11, 11)
    assert torch.isclose(w.sum(), torch.tensor(1., dtype=w.dtype))
    assert w.argmax() == 5 * 11 + 5


def test_ssim_loss_values_and_gradient():
    torch.manual_seed(0)
    gt = torch.rand(2, 3, 24, 24)
    loss = SSIMLoss()
    assert torch.isclose(loss(gt, gt), torch.tensor(-1.), atol=1e-5)
    pred = (gt + 0.2 * torch.randn_like(gt)).requires_grad_()
    value = loss(pred, gt)
    assert -1 < value.item() < 0
    value.backward()
    assert pred.grad.abs().sum() > 0
    # 1 - SSIM has the same gradient, shifted value
    one_minus = SSIMLoss(negative=False, loss_weight=2.)
    assert torch.isclose(one_minus(pred, gt), 2 * (1 + value), atol=1e-6)


def test_ssim_per_sample_and_errors():
    a = torch.rand(3, 1, 16, 16)
    per = ssim(a, a, gaussian_window(11, 1.5), reduction='none')
    assert per.shape == (3, )
    with pytest.raises(ValueError, match='equal shapes'):
        ssim(a, a[:, :, :8], gaussian_window(11, 1.5))
    with pytest.raises(ValueError, match='reduction'):
        ssim(a, a, gaussian_window(11, 1.5), reduction='sum')
