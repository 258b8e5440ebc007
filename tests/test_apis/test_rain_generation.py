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
