# Copyright (c) mmderain contributors. All rights reserved.
"""Tests of :mod:`mmderain.models.editors.dlinet.dlinet_net`.

Parity fixture ``tests/data/dlinet_parity_small.pth``
------------------------------------------------------
Produced once by a script kept outside the repository (``/tmp``), from the
official code lwcbbd/DLINet_2023TIP at commit
``339ca70bfc5ce75946a91902d27d9153c1780973`` (``src/model/{common, lmrd,
lmrd_tjt, prre, da, dlinet}.py`` copied verbatim into a temporary ``model``
package with an empty ``__init__.py``), CPU, float32, torch 2.12:

1. ``DLINET(args, mode)`` was built for ``mode='first_stage'`` and
   ``'second_stage'`` with ``args.num_mask = 2`` and
   ``args.num_msablock = 2`` (all widths are hard-coded to 32 officially).
2. Its state dict was overwritten, in the official key order, by
   :func:`regenerate_state` (below) with seeds ``SEEDS[mode]``; the script
   imported that function from this file, so both sides use the same values.
   Storing the weights themselves is not possible in a small file: the
   stage-2 HRNet/Laplacian detector alone has 1.36 M float32 parameters
   at any ``K``. The fixture therefore stores, per stage, the official
   ``(key, shape)`` list and per-tensor float64 sums (``checksums``) that
   the test uses to check that regeneration reproduces the official values.
3. Both models in ``eval()`` mode (BatchNorm running statistics) were run on
   ``rain = torch.rand(1, 3, 16, 16, generator=manual_seed(0)) * 255`` and
   ``clean = (rain - torch.rand(..) * 64).clamp(0, 255)`` (same generator):
   ``DLINET([rain, clean])`` (stage 1, and ``rain_detect(rain, clean)`` for
   the binary masks) and ``DLINET([rain])`` (stage 2, rain layer and masks).
"""
import os.path as osp

import pytest
import torch

from mmderain.models.converters import convert_official_dlinet
from mmderain.models.editors.dlinet.dlinet_detector import BinarizeSTE
from mmderain.models.editors.dlinet.dlinet_net import DLINet
from tests._helpers import ROOT

FIXTURE = osp.join(ROOT, 'tests', 'data', 'dlinet_parity_small.pth')
SEEDS = {'first_stage': 1, 'second_stage': 2}


def regenerate_state(spec: list, seed: int) -> dict:
    """Deterministic weights for an official ``(key, shape)`` list.

    Conv/linear weights ~ U(-1, 1) / sqrt(fan_in), conv biases ~ 0.1 U,
    BatchNorm weight 1 + 0.2 U, bias 0.1 U, running mean 0.1 U, running var
    1 + 0.5 U; drawn in float64 from one generator in list order.
    """
    bn = {
        k[:-len('.running_mean')]
        for k, _ in spec if k.endswith('.running_mean')
    }
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape in spec:
        if key.endswith('num_batches_tracked'):
            out[key] = torch.tensor(0)
            continue
        u = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
        module, name = key.rsplit('.', 1)
        if name == 'running_var':
            v = 1 + 0.5 * u
        elif name == 'weight' and module in bn:
            v = 1 + 0.2 * u
        elif name == 'weight':
            v = u / (u[0].numel()**0.5)
        else:  # biases and running means
            v = 0.1 * u
        out[key] = v.float()
    return out


@pytest.fixture(scope='module')
def fixture():
    return torch.load(FIXTURE, map_location='cpu', weights_only=True)


@pytest.mark.parametrize('stage', ['first_stage', 'second_stage'])
def test_dlinet_official_parity(fixture, stage):
    spec = [(k, tuple(s)) for k, s in fixture['spec'][stage]]
    official = regenerate_state(spec, SEEDS[stage])
    sums = torch.stack([
        v.double().sum() for k, v in official.items() if v.is_floating_point()
    ])
    torch.testing.assert_close(sums, fixture['checksums'][stage])
    # as if saved from nn.DataParallel(Model) wrappers
    state, args = convert_official_dlinet(
        {f'module.model.{k}': v
         for k, v in official.items()})
    assert args == dict(
        num_masks=2,
        num_msa_blocks=2,
        mid_channels=32,
        stage=stage.split('_')[0])
    net = DLINet(**args).eval()
    net.load_state_dict(state, strict=True)
    rain, clean = fixture['rain'], fixture['clean']
    expected = fixture['outputs'][stage]
    with torch.no_grad():
        if stage == 'first_stage':
            out, masks = net(rain, clean, return_masks=True)
        else:
            out, masks = net(rain, return_masks=True)
    assert (masks - expected['masks']).abs().max() < 1e-6
    # float32 sums over many channels: the error grows with the values'
    # scale (|rain layer| up to ~10 here) and differs between CPUs/BLAS
    ref = expected['rain_layer']
    tol = 1e-5 * max(1., ref.abs().max().item())
    assert (out - ref).abs().max() < tol


@pytest.mark.parametrize('stage,n_params,n_keys', [('second', 2611893, 2209),
                                                   ('first', 1431957, 1403)])
def test_dlinet_param_counts(stage, n_params, n_keys):
    net = DLINet(num_masks=10, num_msa_blocks=15, stage=stage)
    assert sum(p.numel() for p in net.parameters()) == n_params
    assert len(net.state_dict()) == n_keys


def test_dlinet_shapes_and_api():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 24) * 255
    net = DLINet(num_masks=3, num_msa_blocks=2, mid_channels=8).eval()
    rain, masks = net(x, return_masks=True)
    assert rain.shape == x.shape and masks.shape == (2, 3, 16, 24)
    assert ((masks > 0) & (masks < 1)).all()
    assert torch.equal(net(x), rain)
    with pytest.raises(ValueError, match='clean'):
        net(x, x)
    first = DLINet(
        num_masks=3, num_msa_blocks=2, mid_channels=8, stage='first').eval()
    rain, masks = first(x, x * 0.9, return_masks=True)
    assert rain.shape == x.shape
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match='clean'):
        first(x)
    with pytest.raises(ValueError, match='stage'):
        DLINet(stage='third')


def test_dlinet_pad_multiple():
    assert DLINet.pad_multiple == 8
    net = DLINet(num_masks=2, num_msa_blocks=1, mid_channels=4).eval()
    with pytest.raises(ValueError, match='multiples of 8'):
        net(torch.rand(1, 3, 12, 16))
    # stage 1 has no downsampling: any size works
    first = DLINet(
        num_masks=2, num_msa_blocks=1, mid_channels=4, stage='first').eval()
    x = torch.rand(1, 3, 5, 7)
    assert first(x, x).shape == x.shape


def test_binarizer_forward_backward():
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 3.0],
                     requires_grad=True)
    y = BinarizeSTE.apply(x)
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    y.backward(torch.full_like(x, 3.0))
    # (2 - 2 |clamp(x, -1, 1)|) * grad
    assert x.grad.tolist() == [0, 0, 3, 6, 4.5, 3, 0, 0]


def _official_fusion(fusion, streaks, masks):
    """The official FUSION dataflow: per streak, per colour channel loops."""
    total = 0
    for i, block in enumerate(fusion.fusion_list):
        match = block(masks, streaks[:, i])[..., None, None]
        total = total + torch.cat(
            [(streaks[:, i, c:c + 1] * masks * match).sum(1, keepdim=True)
             for c in range(3)], 1)
    return total


@pytest.mark.parametrize('binary', [False, True])
def test_fused_fusion_equals_official_dataflow(binary):
    torch.manual_seed(0)
    fusion = DLINet(3, 4, 8).fusion.double()
    streaks = (torch.randn(2, 4, 3, 8, 8, dtype=torch.float64) *
               10).requires_grad_()
    masks = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    if binary:
        masks = (masks > 0.5).double()
    masks.requires_grad_()
    ours = fusion(streaks, masks)
    ref = _official_fusion(fusion, streaks, masks)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-10)
    g_ours = torch.autograd.grad(ours.square().sum(),
                                 [streaks, masks, *fusion.parameters()])
    g_ref = torch.autograd.grad(ref.square().sum(),
                                [streaks, masks, *fusion.parameters()])
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
