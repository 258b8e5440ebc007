# Copyright (c) mmderain contributors. All rights reserved.
"""Latent helpers of mmderain.apis.rain_generation."""
import pytest
import torch

from mmderain.apis.rain_generation import (mix_latents, rain_to_gray,
                                           sweep_latent)


def test_mix_latents_endpoints_and_variance():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 4096, generator=g)
    mixed = mix_latents(z1, z2, [0.0, 0.5, 1.0])
    torch.testing.assert_close(mixed[0], z2)
    torch.testing.assert_close(mixed[2], z1)
    torch.testing.assert_close(mixed[1], (z1 + z2) / 2**0.5)
    # variance preserving: the mid code is still ~N(0, 1)
    assert abs(mixed[1].std().item() - 1) < 0.05


def test_sweep_latent_changes_one_dimension_per_row():
    z = torch.arange(5.)
    codes = sweep_latent(z, [1, 3], [-1., 2.])
    assert codes.shape == (4, 5)
    expected = torch.tensor([[0., -1, 2, 3, 4], [0., 2, 2, 3, 4],
                             [0., 1, 2, -1, 4], [0., 1, 2, 2, 4]])
    torch.testing.assert_close(codes, expected)
    assert torch.equal(z, torch.arange(5.))  # the base code is untouched
    with pytest.raises(ValueError, match='latent dimension'):
        sweep_latent(z, [5], [0.])


def test_rain_to_gray_is_channel_max():
    rain = torch.tensor([[[[0.1]], [[0.5]], [[0.2]]]])
    assert torch.equal(rain_to_gray(rain), torch.full((1, 3, 1, 1), 0.5))


def _streaks(n=8, size=32, seed=0):
    """Grey parallel slanted streaks (Gaussian profile, period 7 px) on
    black, random offsets."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(
        torch.arange(size, dtype=torch.float64),
        torch.arange(size, dtype=torch.float64),
        indexing='ij')
    out = []
    for _ in range(n):
        off = float(torch.rand(1, generator=g)) * 7
        # distance to the nearest line x cos(a) + y sin(a) = k 7 + off
        t = (xx * 0.8 + yy * 0.6 - off) % 7
        dist = torch.minimum(t, 7 - t)
        layer = 0.3 * torch.exp(-dist**2 / (2 * 0.6**2))
        out.append(layer.expand(3, -1, -1))
    return torch.stack(out)


def test_rain_layer_statistics_tell_streaks_from_speckle():
    from mmderain.apis.rain_generation import rain_layer_statistics
    streaks = rain_layer_statistics(_streaks())
    g = torch.Generator().manual_seed(1)
    speckle = rain_layer_statistics(
        (torch.rand(8, 3, 32, 32, generator=g) > 0.9).double() * 0.3)
    assert streaks['chroma'] == pytest.approx(0.0, abs=1e-12)
    assert speckle['chroma'] > 0.5
    assert streaks['coherence'] > 0.9
    assert speckle['coherence'] < 0.2
    # mean of the profile: 0.3 * sqrt(2 pi) 0.6 / 7; above 0.05 within
    # |d| < 0.6 sqrt(2 ln 6), i.e. 2.29 px of every 7
    assert streaks['mean'] == pytest.approx(0.3 * 1.504 / 7, rel=0.05)
    assert streaks['coverage'] == pytest.approx(2.29 / 7, rel=0.1)
    # identical layers: no diversity
    same = rain_layer_statistics(_streaks()[:1].repeat(4, 1, 1, 1))
    assert same['diversity'] == 0
    assert streaks['diversity'] > 0
    with pytest.raises(ValueError, match='N >= 2'):
        rain_layer_statistics(torch.zeros(1, 3, 8, 8))


def test_real_rain_layers():
    from mmderain.apis.rain_generation import real_rain_layers
    rainy = torch.tensor([0.5, 0.2, 1.0])
    clean = torch.tensor([0.3, 0.4, 0.9])
    torch.testing.assert_close(
        real_rain_layers(rainy, clean), torch.tensor([0.2, 0.0, 0.1]))
    with pytest.raises(ValueError, match='shapes differ'):
        real_rain_layers(rainy, clean[:2])
