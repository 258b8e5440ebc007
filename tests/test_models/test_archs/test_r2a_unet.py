# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's UNet (:class:`R2AUNet`): size, shapes, the size check and
parity with the official ``UNet`` (``tests/data/rain2avoid_unet_parity.npz``,
see ``tests/data/make_rain2avoid_unet_fixture.py``)."""
import pytest
import torch

from mmderain.models.archs import R2AUNet
from mmderain.registry import MODELS
from tests._helpers import (assert_r2a_checksums, num_params, r2a_fixture,
                            r2a_seeded)


def test_parameters_and_keys():
    net = MODELS.build(dict(type='R2AUNet'))
    assert isinstance(net, R2AUNet)
    assert num_params(net) == 4_539_988
    assert net.size_divisor == R2AUNet.size_divisor == 16
    sd = net.state_dict()
    assert 'enc_1.bn.weight' not in sd and 'dec_1.bn.weight' not in sd
    assert sd['dec_1.conv.bias'].shape == (3, )
    assert 'enc_2.conv.bias' not in sd
    assert sd['dec_4.conv.weight'].shape == (256, 768, 3, 3)
    assert sd['dec_1.conv.weight'].shape == (3, 67, 3, 3)
    assert sd['enc_1.conv.weight'].shape == (64, 3, 7, 7)


def test_shapes_and_size_errors():
    net = R2AUNet().eval()
    with torch.no_grad():
        assert net(torch.rand(2, 3, 16, 48)).shape == (2, 3, 16, 48)
    for shape in ((1, 3, 24, 32), (1, 3, 32, 40)):
        with pytest.raises(ValueError, match=r'multiples of 16, got \d+x\d+'):
            net(torch.rand(shape))
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        net(torch.rand(1, 1, 16, 16))
    one = R2AUNet(in_channels=1).eval()
    assert one(torch.rand(1, 1, 16, 16)).shape == (1, 1, 16, 16)


def test_forward_backward():
    torch.manual_seed(0)
    net = R2AUNet()
    x = torch.rand(2, 3, 32, 16)
    loss = torch.nn.functional.mse_loss(net(x), torch.rand_like(x))
    loss.backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.enc_1.conv.weight.grad.abs().sum() > 0


def test_official_parity():
    """The same seed gives the official weights (checksums); outputs in
    eval mode and in train mode (batch statistics, as the official
    ``test_all.py`` runs) equal the official ones."""
    fix = r2a_fixture('unet')
    net = r2a_seeded(R2AUNet)
    assert_r2a_checksums(net.state_dict(), fix)
    x = torch.from_numpy(fix['input'])
    with torch.no_grad():
        out = net(x)
        torch.testing.assert_close(
            out, torch.from_numpy(fix['out_eval']), rtol=0, atol=1e-5)
        net.train()
        torch.testing.assert_close(
            net(x), torch.from_numpy(fix['out_train']), rtol=0, atol=1e-5)
    # the two modes differ: the check can fail on a BN defect
    assert (out - net(x)).abs().max() > 1e-2
