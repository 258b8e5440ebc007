# Copyright (c) mmderain contributors. All rights reserved.
"""DnCNN as Rain2Avoid uses it (:class:`DnCNN`): size, shapes, arguments
and parity with the official ``DnCNN``
(``tests/data/rain2avoid_backbones_parity.npz``, see
``tests/data/make_rain2avoid_unet_fixture.py``)."""
import pytest
import torch

from mmderain.models.archs import DnCNN
from mmderain.registry import MODELS
from tests._helpers import (assert_r2a_checksums, num_params, r2a_fixture,
                            r2a_seeded)


def test_parameters_and_layers():
    net = MODELS.build(dict(type='DnCNN'))
    assert isinstance(net, DnCNN)
    assert num_params(net) == 558_336
    assert net.size_divisor == 1
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 17 and all(c.bias is None for c in convs)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 15
    sd = net.state_dict()
    assert sd['layers.47.weight'].shape == (3, 64, 3, 3)
    assert sd['layers.3.running_mean'].shape == (64, )
    small = DnCNN(in_channels=1, num_layers=3, mid_channels=8)
    assert num_params(small) == 9 * 8 + (9 * 64 + 16) + 9 * 8
    with pytest.raises(ValueError, match='num_layers'):
        DnCNN(num_layers=1)


def test_shapes_any_size_and_no_residual():
    net = DnCNN(num_layers=3, mid_channels=4).eval()
    x = torch.rand(2, 3, 7, 11)
    with torch.no_grad():
        out = net(x)
        assert out.shape == x.shape
        # outputs the image directly: zero weights give zero, not x
        for p in net.layers[-1].parameters():
            p.zero_()
        assert net(x).abs().max() == 0
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        net(torch.rand(1, 4, 8, 8))


def test_forward_backward():
    torch.manual_seed(0)
    net = DnCNN(num_layers=5, mid_channels=8)
    x = torch.rand(2, 3, 9, 10)
    torch.nn.functional.mse_loss(net(x), torch.rand_like(x)).backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all()
        for p in net.parameters())


def test_official_parity():
    fix = r2a_fixture('backbones')
    net = r2a_seeded(DnCNN)
    assert_r2a_checksums(net.state_dict(), fix, 'dncnn_',
                         lambda k: k.replace('dncnn.', 'layers.', 1))
    with torch.no_grad():
        out = net(torch.from_numpy(fix['dncnn_input']))
    torch.testing.assert_close(
        out, torch.from_numpy(fix['dncnn_out_eval']), rtol=0, atol=1e-5)
