# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's Restormer backbone is mmagic's ``Restormer`` with its
default arguments, built through mmderain's registry (a child of mmagic's).

Checked once against the official ``Rain2Avoid(Single)/restormer.py``
(commit 22bf3a7): the same 26,126,644 parameters, the same state-dict keys
in the same order, and identical outputs on loaded weights for sizes that
are multiples of 8. The official forward fails on other sizes
(``pixel_unshuffle``); mmagic's reflect-pads to a multiple of 8 and crops
back.
"""
import torch

from mmderain.registry import MODELS
from tests._helpers import num_params


def test_default_restormer_is_rain2avoids():
    with torch.device('meta'):
        net = MODELS.build(dict(type='Restormer'))
    assert type(net).__module__.startswith('mmagic.')
    assert num_params(net) == 26_126_644
    assert not net.dual_pixel_task
    assert len(net.refinement) == 4 and len(net.latent) == 8
    assert net.encoder_level1[0].norm1.body.bias is not None  # WithBias
    assert net.output.bias is None


def test_restormer_pads_other_sizes():
    cfg = dict(
        type='Restormer',
        dim=8,
        num_blocks=[1, 1, 1, 1],
        num_refinement_blocks=1,
        heads=[1, 1, 1, 1])
    torch.manual_seed(0)
    net = MODELS.build(cfg).eval()
    x = torch.rand(1, 3, 19, 13)
    with torch.no_grad():
        out = net(x)
        assert out.shape == x.shape
        padded = torch.nn.functional.pad(x, (0, 3, 0, 5), mode='reflect')
        torch.testing.assert_close(out, net(padded)[..., :19, :13])
