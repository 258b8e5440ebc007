# Copyright (c) mmderain contributors. All rights reserved.
"""DerainDataPreprocessor.batch_augments and GeneratedRainAugment."""
import pytest
import torch
import torch.nn as nn
from mmagic.structures import DataSample

from mmderain.models.data_preprocessors import (DerainDataPreprocessor,
                                                GeneratedRainAugment)


class ConstantRain(nn.Module):
    """A stand-in generator: rain = 0.02 * (1 + |z[0]|) everywhere (RGB)."""

    latent_dim = 4

    def __init__(self, size=8):
        super().__init__()
        self.size = size
        self.scale = nn.Parameter(torch.ones(1))
        self.calls = []

    def forward(self, z):
        self.calls.append(z.shape)
        rain = 0.02 * (1 + z[:, :1, None, None].abs()) * self.scale
        out = rain.expand(-1, 3, self.size, self.size).clone()
        out[:, 0] *= 2  # red channel twice the rain: shows channel order
        return out


def _batch(n=6, size=8):
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        gt = torch.randint(
            0, 200, (3, size, size), generator=g, dtype=torch.uint8)
        ds = DataSample(gt_img=gt)
        ds.set_metainfo(dict(img_channel_order='rgb', gt_channel_order='rgb'))
        inputs.append(gt.clone())
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('order', ['RGB', 'BGR'])
def test_generated_pairs_replace_the_tail_of_training_batches(order):
    pre = DerainDataPreprocessor(
        mean=[0., 0., 0.], std=[255., 255., 255.], output_channel_order=order)
    gen = ConstantRain()
    pre.batch_augments.append(GeneratedRainAugment(gen, pre, fake_ratio=0.5))
    torch.manual_seed(0)
    data = pre(_batch(n=6), training=True)
    x, gt = data['inputs'], data['data_samples'].gt_img
    # ceil(6 / 1.5) = 4 real pairs stay untouched
    assert torch.equal(x[:4], gt[:4])
    assert gen.calls == [torch.Size([2, 4])]
    rain = x[4:] - gt[4:]
    red = 0 if order == 'RGB' else 2
    assert (rain >= 0).all() and (rain[:, red] > rain[:, 1]).all()
    assert x.max() <= 1
    # not in test mode, and the generator is frozen
    test = pre(_batch(n=6), training=False)
    assert len(gen.calls) == 1 and test['inputs'].dtype == torch.float32
    assert not gen.scale.requires_grad and not gen.training
    # batch_augments are not state
    assert 'batch_augments' not in str(pre.state_dict().keys())


def test_num_real_and_errors():
    pre = DerainDataPreprocessor(mean=[0.] * 3, std=[1.] * 3)
    aug = GeneratedRainAugment(ConstantRain(), pre, fake_ratio=0.5)
    assert [aug.num_real(n) for n in (18, 6, 1)] == [12, 4, 1]
    assert GeneratedRainAugment(ConstantRain(), pre, 0).num_real(18) == 18
    with pytest.raises(ValueError, match='fake_ratio'):
        GeneratedRainAugment(ConstantRain(), pre, -1)
    pre.batch_augments.append(aug)
    with pytest.raises(ValueError, match='generator size'):
        pre(_batch(n=3, size=16), training=True)
    # [0, 255] normalisation round trip
    x = torch.rand(1, 3, 2, 2)
    torch.testing.assert_close(pre.to_unit_range(pre.from_unit_range(x)), x)
