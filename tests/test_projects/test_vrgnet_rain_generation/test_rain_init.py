# Copyright (c) mmderain contributors. All rights reserved.
"""Non-official initialisations of VRGNet's rain generator (``init_cfg``)."""
import math

import pytest
import torch
import torch.nn as nn

from projects.vrgnet_rain_generation.models import tie_output_channels
from tests._helpers import tiny_vrgnet

KAIMING_G = [
    dict(type='VRGNetOfficialInit', modules=('generator', 'rain_encoder')),
    dict(type='VRGNetKaimingInit', modules=('rain_generator', )),
]


def test_kaiming_init_of_the_generator():
    torch.manual_seed(0)
    model = tiny_vrgnet(init_cfg=KAIMING_G)
    assert abs(model.generator.head.weight.std().item() - 0.02) < 0.004
    # Kaiming normal (fan_in = w.size(1) * k * k for ConvTranspose2d, ReLU)
    for m in model.rain_generator.modules():
        if isinstance(m, nn.ConvTranspose2d):
            fan_in = m.weight.size(1) * 16
            assert m.weight.std().item() == pytest.approx(
                math.sqrt(2 / fan_in), rel=0.15)
    with pytest.raises(ValueError, match="no sub-network 'decoder'"):
        tiny_vrgnet(
            init_cfg=dict(type='VRGNetKaimingInit', modules=('decoder', )))


def test_grey_init_ties_the_generator_channels():
    torch.manual_seed(0)
    model = tiny_vrgnet(
        init_cfg=[dict(type='VRGNetOfficialInit'),
                  dict(type='GreyRainInit')])
    rain = model.sample_rain(4)
    assert rain.abs().sum() > 0
    assert torch.equal(rain[:, 0], rain[:, 1])
    assert torch.equal(rain[:, 0], rain[:, 2])
    rain = tiny_vrgnet().sample_rain(4)
    assert not torch.equal(rain[:, 0], rain[:, 1])


def test_tie_output_channels_makes_grey_rain():
    torch.manual_seed(0)
    gen = tiny_vrgnet().rain_generator
    z = torch.randn(4, 8)
    with torch.no_grad():
        coloured = gen(z)
    assert not torch.allclose(coloured[:, 0], coloured[:, 1])
    last = gen.main[-2]
    kept = last.weight[:, 0].clone()
    tie_output_channels(gen)
    # the red filter is kept and copied to green and blue
    assert torch.equal(last.weight[:, 0], kept)
    with torch.no_grad():
        grey = gen(z)
    assert torch.equal(grey[:, 0], grey[:, 1])
    assert torch.equal(grey[:, 0], grey[:, 2])
    assert torch.equal(grey[:, 0], coloured[:, 0])
    with pytest.raises(ValueError, match='3 output channels'):
        tie_output_channels(nn.Sequential(nn.ConvTranspose2d(4, 2, 4)))
    with pytest.raises(ValueError, match='3 output channels'):
        tie_output_channels(nn.Linear(3, 3))
