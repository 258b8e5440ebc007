# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's ResNet (:class:`R2AResNet`): size, shapes, the size check
and parity with the official ``ResNet``
(``tests/data/rain2avoid_backbones_parity.npz``, see
``tests/data/make_rain2avoid_unet_fixture.py``)."""
import pytest
import torch

from mmderain.models.archs import R2AResNet
from mmderain.registry import MODELS
from tests._helpers import (assert_r2a_checksums, num_params, r2a_fixture,
                            r2a_seeded)

#: The official ResNet without torchvision's unused classifier (513,000).
NUM_PARAMS = 13_998_147


def test_parameters_and_keys():
    net = MODELS.build(dict(type='R2AResNet'))
    assert isinstance(net, R2AResNet)
    assert num_params(net) == NUM_PARAMS == 14_511_147 - 513_000
    assert net.size_divisor == 32
    sd = net.state_dict()
    assert not any(k.startswith(('fc.', 'avgpool.')) for k in sd)
    assert sd['up1.weight'].shape == (512, 256, 4, 4)
    assert sd['up5.bias'].shape == (3, )
    assert sd['layer4.1.bn2.running_var'].shape == (512, )


def test_shapes_and_size_errors():
    net = R2AResNet().eval()
    with torch.no_grad():
        assert net(torch.rand(2, 3, 32, 96)).shape == (2, 3, 32, 96)
    with pytest.raises(ValueError, match='multiples of 32, got 48x64'):
        net(torch.rand(1, 3, 48, 64))
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        net(torch.rand(3, 32, 32))


def test_forward_backward():
    torch.manual_seed(0)
    net = R2AResNet()
    x = torch.rand(2, 3, 32, 32)
    torch.nn.functional.mse_loss(net(x), torch.rand_like(x)).backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all()
        for p in net.parameters())
    assert net.conv1.weight.grad.abs().sum() > 0


#: Official ``down*`` prefixes -> ours (``down2.0`` is the max-pooling,
#: ``down3``/``down4`` unpack ``layer2``/``layer3``, ``down5`` wraps
#: ``layer4``).
_DOWN = (('down1.0.', 'conv1.'), ('down1.1.', 'bn1.'), ('down2.1.', 'layer1.'),
         ('down3.', 'layer2.'), ('down4.', 'layer3.'), ('down5.0.', 'layer4.'))


def _down_up_to_ours(key):
    """The keys the official forward uses (``down*``, ``upK.main.0``)."""
    if key.startswith('up'):
        return key.replace('.main.0.', '.')
    for old, new in _DOWN:
        if key.startswith(old):
            return new + key[len(old):]
    return None


def _official_to_ours(key):
    """Also the aliases: ``resnet18.*`` holds our names (``fc`` excepted),
    ``resnet.<i>.*`` the same modules by index."""
    if key.startswith('resnet18.'):
        return None if key.startswith('resnet18.fc.') else key[9:]
    return _down_up_to_ours(key)


def test_official_parity():
    """The same seed gives the official weights (the unused classifier is
    created, then dropped) and the official eval outputs."""
    fix = r2a_fixture('backbones')
    keys = [str(k) for k in fix['resnet_keys']]
    assert 'resnet18.fc.weight' in keys and 'down5.0.1.bn2.bias' in keys
    net = r2a_seeded(R2AResNet)
    assert_r2a_checksums(net.state_dict(), fix, 'resnet_', _official_to_ours)
    # the down*/up* keys alone cover every tensor of ours
    assert_r2a_checksums(net.state_dict(), fix, 'resnet_', _down_up_to_ours)
    with torch.no_grad():
        out = net(torch.from_numpy(fix['resnet_input']))
    torch.testing.assert_close(
        out, torch.from_numpy(fix['resnet_out_eval']), rtol=0, atol=1e-5)
