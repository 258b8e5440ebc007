# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of :mod:`mmderain.models.editors.vrgnet.vrgnet_encoder` (``RNet``).

Parity with the official code
-----------------------------
Checked once with a script kept outside the repository (``/tmp``), CPU,
float32, torch 2.12.1: the official ``for_syn/vrgnet.py`` and
``vrgnet_256.py`` of hongwang01/VRGNet at commit
``036d7a9757abcefde89abadce6a706ec9d1ce15e`` (unmodified; no ``.cuda()``
is reached by the encoder/decoder) were instantiated as ``EDNet(3, 128,
32)`` with the official ``weights_init`` applied and, separately, with
PyTorch's default initialisation. Their state dict, prefixed with
``module.``, was converted by ``convert_official_vrgnet_ed`` and loaded with
``strict=True`` into :class:`RainEncoder`; the key lists (and order) are
equal to ``encoder.main.*`` minus the prefix. On ``torch.rand(4, 3, 64, 64)``
(64 px) and ``torch.rand(1, 3, 256, 256)`` (256 px), ``mu`` and ``logvar``
equal the two halves of the official ``encoder(x)`` with max abs diff
**0.0** (bit-identical), and the complete ``EDNet.forward`` rain layer
(same seed for the reparametrisation noise) also differs by 0.0. The
official ``weights_init`` and ``vrgnet_weights_init`` produce identical
tensors from the same seed.

Here, :func:`_reference_encoder` is an independent functional forward of
the official layer sequence, used to catch regressions.
"""
import pytest
import torch
import torch.nn.functional as F

from mmderain.models.editors.vrgnet.vrgnet_encoder import RainEncoder
from mmderain.registry import MODELS

#: ``encoder.*`` keys of the official 64-px ``EDNet`` (spec section 1.10),
#: prefix removed.
OFFICIAL_ENCODER_64 = {
    'main.0.weight': (32, 3, 4, 4),
    'main.2.weight': (64, 32, 4, 4),
    'main.4.weight': (128, 64, 4, 4),
    'main.6.weight': (256, 128, 4, 4),
    'main.8.weight': (512, 256, 4, 4),
    'main.8.bias': (512, ),
    'main.11.weight': (256, 512),
    'main.11.bias': (256, ),
}


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


def _reference_encoder(sd, x, depth):
    """Official ``Encoder.main`` written with functional ops."""
    out = x
    for i in range(depth):
        out = F.relu(
            F.conv2d(out, sd[f'main.{2 * i}.weight'], stride=2, padding=1))
    k = 2 * depth
    out = F.relu(F.conv2d(out, sd[f'main.{k}.weight'], sd[f'main.{k}.bias']))
    out = out.view(out.shape[0], -1)
    return F.linear(out, sd[f'main.{k + 3}.weight'], sd[f'main.{k + 3}.bias'])


def test_encoder_64_shapes_and_reference():
    torch.manual_seed(0)
    net = RainEncoder()
    x = torch.rand(2, 3, 64, 64)
    mu, logvar = net(x)
    assert mu.shape == (2, 128) and logvar.shape == (2, 128)
    ref = _reference_encoder(net.state_dict(), x, depth=4)
    torch.testing.assert_close(mu, ref[:, :128], rtol=0, atol=1e-6)
    torch.testing.assert_close(logvar, ref[:, 128:], rtol=0, atol=1e-6)


def test_encoder_custom_widths():
    net = RainEncoder(latent_dim=8, base_channels=4)
    mu, logvar = net(torch.rand(3, 3, 64, 64))
    assert mu.shape == (3, 8) and logvar.shape == (3, 8)
    assert net.main[11].in_features == 64  # 4 * 2**4
    assert _num_params(net) == sum(p.numel()
                                   for p in net.state_dict().values())


def test_encoder_official_keys_and_param_count():
    net = RainEncoder()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == OFFICIAL_ENCODER_64
    assert list(shapes) == list(OFFICIAL_ENCODER_64)  # same order
    assert _num_params(net) == 2_918_656


def test_encoder_256_param_count_and_keys():
    with torch.device('meta'):
        net = RainEncoder(image_size=256)
    assert _num_params(net) == 45_256_448
    keys = list(net.state_dict())
    assert keys == [f'main.{i}.weight' for i in range(0, 12, 2)] + [
        'main.12.weight', 'main.12.bias', 'main.15.weight', 'main.15.bias'
    ]
    assert tuple(net.state_dict()['main.12.weight'].shape) == (2048, 1024, 4,
                                                               4)


def test_encoder_256_forward():
    torch.manual_seed(0)
    net = RainEncoder(image_size=256)
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        mu, logvar = net(x)
        ref = _reference_encoder(net.state_dict(), x, depth=6)
    assert mu.shape == (1, 128) and logvar.shape == (1, 128)
    torch.testing.assert_close(
        torch.cat([mu, logvar], 1), ref, rtol=0, atol=1e-6)


def test_encoder_registry():
    net = MODELS.build(dict(type='RainEncoder', latent_dim=16))
    assert isinstance(net, RainEncoder) and net.latent_dim == 16


def test_encoder_errors():
    with pytest.raises(ValueError, match='image_size must be 64 or 256'):
        RainEncoder(image_size=128)
    with pytest.raises(ValueError, match='positive'):
        RainEncoder(latent_dim=0)
    net = RainEncoder(latent_dim=4, base_channels=2)
    with pytest.raises(ValueError, match=r'\(B, 3, 64, 64\)'):
        net(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r'\(B, 3, 64, 64\)'):
        net(torch.rand(1, 1, 64, 64))
    with pytest.raises(ValueError, match='expects input'):
        net(torch.rand(3, 64, 64))
