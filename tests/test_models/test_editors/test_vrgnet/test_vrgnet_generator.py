# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of :mod:`mmderain.models.editors.vrgnet.vrgnet_generator` (``G``).

Parity with the official code
-----------------------------
Checked once with a script kept outside the repository (``/tmp``), CPU,
float32, torch 2.12.1: the official ``for_syn/vrgnet.py`` and
``vrgnet_256.py`` of hongwang01/VRGNet at commit
``036d7a9757abcefde89abadce6a706ec9d1ce15e`` (unmodified) were instantiated
as ``EDNet(3, 128, 32)``, initialised with the official ``weights_init``
(and, in a second run, left at PyTorch's defaults). Their state dict,
prefixed with ``module.`` as ``nn.DataParallel`` would save it, went through
:func:`convert_official_vrgnet_ed`, which inferred ``latent_dim=128,
base_channels=32`` and the right ``image_size``, and loaded with
``strict=True`` into :class:`RainEncoder` / :class:`RainGenerator` (key
lists and order equal the official ones minus ``encoder.`` / ``decoder.``).
For ``z = torch.randn(4, 128)`` (64 px) and ``torch.randn(1, 128)``
(256 px), ``RainGenerator(z)`` equals the official ``decoder(z)`` with max
abs diff **0.0** (bit-identical; rain values up to ~6e-3, about half of
them non-zero), and so does the whole ``EDNet.forward`` rain layer built
from our encoder + generator with the same reparametrisation noise.
``vrgnet_weights_init`` applied with the same seed gives tensors identical
to the official ``weights_init``. Built after the same
``torch.manual_seed``, ``RainEncoder`` then ``RainGenerator`` have the same
initial tensors as the official ``EDNet`` (64 and 256 px).

Here, :func:`_reference_generator` is an independent functional forward of
the official layer sequence, used to catch regressions.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.converters import convert_official_vrgnet_ed
from mmderain.models.editors.vrgnet.vrgnet_encoder import RainEncoder
from mmderain.models.editors.vrgnet.vrgnet_generator import (
    RainGenerator, vrgnet_weights_init)
from mmderain.registry import MODELS

#: Official 64-px ``EDNet`` state dict (spec section 1.10).
OFFICIAL_ED_64 = {
    'encoder.main.0.weight': (32, 3, 4, 4),
    'encoder.main.2.weight': (64, 32, 4, 4),
    'encoder.main.4.weight': (128, 64, 4, 4),
    'encoder.main.6.weight': (256, 128, 4, 4),
    'encoder.main.8.weight': (512, 256, 4, 4),
    'encoder.main.8.bias': (512, ),
    'encoder.main.11.weight': (256, 512),
    'encoder.main.11.bias': (256, ),
    'decoder.main.0.weight': (512, 128),
    'decoder.main.0.bias': (512, ),
    'decoder.main.3.weight': (512, 256, 4, 4),
    'decoder.main.5.weight': (256, 128, 4, 4),
    'decoder.main.7.weight': (128, 64, 4, 4),
    'decoder.main.9.weight': (64, 32, 4, 4),
    'decoder.main.11.weight': (32, 3, 4, 4),
}


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


def _reference_generator(sd, z, depth):
    """Official ``Decoder.main`` written with functional ops."""
    out = F.linear(z, sd['main.0.weight'], sd['main.0.bias'])
    out = F.relu(out.view(z.shape[0], -1, 1, 1))
    out = F.relu(F.conv_transpose2d(out, sd['main.3.weight']))
    for i in range(depth):
        out = F.relu(
            F.conv_transpose2d(
                out, sd[f'main.{5 + 2 * i}.weight'], stride=2, padding=1))
    return out


def _official_ed(encoder, generator, prefix=''):
    """Fake an official ``ED_state`` dict from our modules."""
    sd = {f'{prefix}encoder.{k}': v for k, v in encoder.state_dict().items()}
    sd.update(
        {f'{prefix}decoder.{k}': v
         for k, v in generator.state_dict().items()})
    return sd


def test_generator_64_shapes_nonneg_and_reference():
    torch.manual_seed(0)
    net = RainGenerator()
    z = torch.randn(3, 128)
    rain = net(z)
    assert rain.shape == (3, 3, 64, 64)
    assert rain.min() >= 0 and rain.max() > 0
    ref = _reference_generator(net.state_dict(), z, depth=4)
    torch.testing.assert_close(rain, ref, rtol=0, atol=1e-6)


def test_generator_custom_widths():
    net = RainGenerator(latent_dim=6, base_channels=2)
    assert net(torch.randn(2, 6)).shape == (2, 3, 64, 64)


def test_generator_official_keys_and_param_counts():
    enc, gen = RainEncoder(), RainGenerator()
    assert _num_params(gen) == 2_852_864
    assert _num_params(enc) + _num_params(gen) == 5_771_520
    official = {k: tuple(v.shape) for k, v in _official_ed(enc, gen).items()}
    assert official == OFFICIAL_ED_64
    assert list(official) == list(OFFICIAL_ED_64)


def test_generator_256_param_count_and_forward():
    with torch.device('meta'):
        enc = RainEncoder(image_size=256)
        gen = RainGenerator(image_size=256)
    assert _num_params(gen) == 44_994_048
    assert _num_params(enc) + _num_params(gen) == 90_250_496
    assert list(gen.state_dict()) == ['main.0.weight', 'main.0.bias'] + [
        f'main.{i}.weight' for i in range(3, 17, 2)
    ]
    torch.manual_seed(0)
    gen = RainGenerator(image_size=256)
    z = torch.randn(1, 128)
    with torch.no_grad():
        rain = gen(z)
        ref = _reference_generator(gen.state_dict(), z, depth=6)
    assert rain.shape == (1, 3, 256, 256) and rain.min() >= 0
    torch.testing.assert_close(rain, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_convert_official_ed_round_trip(prefix):
    torch.manual_seed(0)
    args = dict(latent_dim=16, base_channels=4)
    enc, gen = RainEncoder(**args), RainGenerator(**args)
    official = _official_ed(enc, gen, prefix)
    enc_sd, gen_sd, args = convert_official_vrgnet_ed(official)
    assert args == dict(latent_dim=16, base_channels=4, image_size=64)
    enc2, gen2 = RainEncoder(**args), RainGenerator(**args)
    enc2.load_state_dict(enc_sd, strict=True)
    gen2.load_state_dict(gen_sd, strict=True)
    x, z = torch.rand(2, 3, 64, 64), torch.randn(2, 16)
    assert all(torch.equal(a, b) for a, b in zip(enc(x), enc2(x)))
    assert torch.equal(gen(z), gen2(z))


def test_convert_official_ed_default_and_256():
    official = _official_ed(RainEncoder(), RainGenerator(), 'module.')
    *_, args = convert_official_vrgnet_ed(official)
    assert args == dict(latent_dim=128, base_channels=32, image_size=64)
    with torch.device('meta'):
        enc = RainEncoder(image_size=256)
        gen = RainGenerator(image_size=256)
        enc_sd, gen_sd, args = convert_official_vrgnet_ed(
            _official_ed(enc, gen))
        assert args == dict(latent_dim=128, base_channels=32, image_size=256)
        RainEncoder(**args).load_state_dict(enc_sd, strict=True)
        RainGenerator(**args).load_state_dict(gen_sd, strict=True)


def test_convert_official_ed_errors():
    enc, gen = RainEncoder(8, 2), RainGenerator(8, 2)
    good = _official_ed(enc, gen)
    bad = dict(good)
    del bad['decoder.main.7.weight']
    with pytest.raises(KeyError, match='main.7.weight'):
        convert_official_vrgnet_ed(bad)
    bad = dict(good, **{'decoder.main.13.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='main.13.weight'):
        convert_official_vrgnet_ed(bad)
    bad = dict(good, **{'netD.l1.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='netD.l1.weight'):
        convert_official_vrgnet_ed(bad)
    bad = {k: v for k, v in good.items() if k.startswith('decoder.')}
    with pytest.raises(KeyError, match='encoder.main.0.weight'):
        convert_official_vrgnet_ed(bad)
    bad = dict(good, **{'decoder.main.5.weight': torch.zeros(16, 8, 3, 3)})
    with pytest.raises(ValueError, match='shape mismatch'):
        convert_official_vrgnet_ed(bad)
    bad = dict(good)
    bad.pop('encoder.main.6.weight')
    with pytest.raises(ValueError, match='cannot infer image_size'):
        convert_official_vrgnet_ed(bad)


def test_vrgnet_weights_init():
    torch.manual_seed(0)
    enc, gen = RainEncoder(), RainGenerator()
    before = {k: v.clone() for k, v in _official_ed(enc, gen).items()}
    enc.apply(vrgnet_weights_init)
    gen.apply(vrgnet_weights_init)
    after = _official_ed(enc, gen)
    for key, value in after.items():
        conv = value.ndim == 4  # Conv2d / ConvTranspose2d weights
        assert torch.equal(value, before[key]) != conv, key
        if conv and value.numel() > 10000:
            assert abs(value.std().item() - 0.02) < 2e-3, key
            assert abs(value.mean().item()) < 2e-3, key
    # BatchNorm branch of the official function, and modules without a
    # ``weight`` tensor are skipped.
    bn = nn.BatchNorm2d(4)
    nn.init.constant_(bn.bias, 3.0)
    bn.apply(vrgnet_weights_init)
    assert torch.all(bn.bias == 0) and not torch.all(bn.weight == 1)
    nn.Sequential(nn.ReLU(), nn.Flatten()).apply(vrgnet_weights_init)


def test_generator_registry_and_errors():
    net = MODELS.build(
        dict(type='RainGenerator', latent_dim=4, base_channels=2))
    assert isinstance(net, RainGenerator)
    with pytest.raises(ValueError, match=r'\(B, 4\)'):
        net(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r'\(B, 4\)'):
        net(torch.randn(2, 4, 1, 1))
    with pytest.raises(ValueError, match='image_size must be 64 or 256'):
        RainGenerator(image_size=32)
    with pytest.raises(ValueError, match='positive'):
        RainGenerator(base_channels=0)
