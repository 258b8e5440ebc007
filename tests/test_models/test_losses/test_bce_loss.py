# Copyright (c) mmderain contributors. All rights reserved.
import pytest
import torch

from mmderain.models.losses import BinaryCrossEntropyLoss


def test_matches_torch_bce_times_weight():
    pred = torch.tensor([0.9, 0.2, 0.6, 1.0])
    target = torch.tensor([1., 0., 0., 1.])
    expected = -(torch.log(torch.tensor(0.9)) + torch.log(torch.tensor(0.8)) +
                 torch.log(torch.tensor(0.4)) + 0) / 4
    loss = BinaryCrossEntropyLoss(loss_weight=1e4)(pred, target)
    assert loss.item() == pytest.approx(1e4 * expected.item(), rel=1e-6)
    assert loss.item() == pytest.approx(
        1e4 * torch.nn.BCELoss()(pred, target).item(), rel=1e-6)
    # log clamped at -100 like torch: a confident wrong 0 costs 100
    assert BinaryCrossEntropyLoss()(torch.zeros(1),
                                    torch.ones(1)).item() == 100
    per = BinaryCrossEntropyLoss(reduction='none')(pred, target)
    assert per.shape == (4, )


def test_errors():
    with pytest.raises(ValueError, match='reduction'):
        BinaryCrossEntropyLoss(reduction='avg')
    with pytest.raises(ValueError, match='shapes differ'):
        BinaryCrossEntropyLoss()(torch.rand(2, 3), torch.rand(3, 2))
