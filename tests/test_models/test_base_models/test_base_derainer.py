# Copyright (c) mmderain contributors. All rights reserved.
import copy

import pytest
import torch
from mmagic.structures import DataSample
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmderain.models.base_models import BaseDerainer, quantize
from mmderain.registry import MODELS


def _build(**kwargs):
    init_default_scope('mmderain')
    cfg = dict(
        type='BaseDerainer',
        generator=dict(
            type='PReNet', num_stages=2, mid_channels=4, num_res_blocks=1),
        pixel_loss=dict(type='SSIMLoss'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _batch(n=2, h=12, w=14, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        img = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
        gt = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
        ds = DataSample(gt_img=gt.float())
        ds.set_metainfo(dict(img_channel_order='rgb', gt_channel_order='rgb'))
        inputs.append(img.float())
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def test_quantize_modes():
    x = torch.tensor([0.4, 0.5, 254.6, 254.99])
    assert torch.equal(
        quantize(x, 'round'), torch.tensor([0., 1., 255., 255.]))
    assert torch.equal(
        quantize(x, 'trunc'), torch.tensor([0., 0., 254., 254.]))
    assert torch.equal(quantize(x, None), x)
    with pytest.raises(ValueError, match='quantize'):
        quantize(x, 'floor')
    with pytest.raises(ValueError, match='quantize'):
        _build(test_cfg=dict(quantize='nearest'))


def test_default_preprocessor_is_rgb_unit_range():
    model = _build()
    assert isinstance(model, BaseDerainer)
    data = model.data_preprocessor(_batch(), training=True)
    assert 0 <= data['inputs'].min() and data['inputs'].max() <= 1
    # gt is normalised like the inputs
    assert data['data_samples'].gt_img.max() <= 1


def test_train_step_updates_weights_and_logs_losses():
    model = _build(pixel_loss=[
        dict(type='SSIMLoss'),
        dict(type='mmagic.L1Loss', loss_weight=0.5)
    ])
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    before = [p.detach().clone() for p in model.parameters()]
    log = model.train_step(_batch(), optim)
    assert set(log) == {'loss', 'loss_SSIMLoss', 'loss_L1Loss'}
    assert torch.isclose(log['loss'],
                         log['loss_SSIMLoss'] + log['loss_L1Loss'])
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))


def test_stage_loss_weights():
    model = _build(train_cfg=dict(stage_loss_weights=[0.5, 1.0]))
    data = model.data_preprocessor(_batch(), training=True)
    loss = model(**data, mode='loss')['loss_SSIMLoss']
    stages = model.generator(data['inputs'], return_stages=True)
    gt = data['data_samples'].gt_img
    expected = 0.5 * model.pixel_loss(stages[0], gt) + model.pixel_loss(
        stages[1], gt)
    assert torch.isclose(loss, expected)
    bad = _build(train_cfg=dict(stage_loss_weights=[1.0]))
    with pytest.raises(ValueError, match='stage_loss_weights'):
        bad(**bad.data_preprocessor(_batch(), training=True), mode='loss')


@pytest.mark.parametrize('mode', ['round', 'trunc', None])
def test_predict_is_bgr_0_255_quantised(mode):
    model = _build(test_cfg=dict(quantize=mode)).eval()
    batch = _batch(n=1)
    with torch.no_grad():
        out = model.test_step(batch)[0]
        rgb01 = model.derain_tensor(batch['inputs'][0][None] / 255.)[0]
    pred = out.output.pred_img
    assert pred.shape == (3, 12, 14)
    expected = quantize(rgb01.flip(0) * 255., mode)  # RGB -> BGR
    torch.testing.assert_close(pred, expected, atol=1e-3, rtol=0)
    if mode is not None:
        assert torch.equal(pred, pred.round())


class _Recorder(torch.nn.Module):
    """Identity generator that records the spatial size it was given."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[-2:]))
        return x


def test_pad_multiple_pads_and_crops_back():
    model = _build(pad_multiple=8).eval()
    model.generator = _Recorder()
    x = torch.rand(1, 3, 13, 10)
    out = model.derain_tensor(x)
    assert model.generator.sizes == [(16, 16)]
    torch.testing.assert_close(out, x)  # identity survives pad + crop
    model.derain_tensor(torch.rand(1, 3, 16, 8))
    assert model.generator.sizes[-1] == (16, 8)  # no padding when divisible
    with pytest.raises(ValueError, match='pad_multiple'):
        _build(pad_multiple=0)


# mmagic's definitions (default weight 1, mean reduction, eps 1e-12)
MMAGIC_LOSSES = {
    'L1Loss': lambda d: d.abs().mean(),
    'MSELoss': lambda d: d.square().mean(),
    'CharbonnierLoss': lambda d: (d.square() + 1e-12).sqrt().mean(),
}


@pytest.mark.parametrize('loss', sorted(MMAGIC_LOSSES))
def test_pixel_losses_of_mmagic_resolve_in_mmderain_scope(loss):
    model = _build(pixel_loss=dict(type=loss))
    assert type(model.pixel_loss).__module__.startswith('mmagic.')
    assert type(model.pixel_loss).__name__ == loss
    data = model.data_preprocessor(_batch(), training=True)
    value = model(**data, mode='loss')[f'loss_{loss}']
    diff = model.generator(data['inputs']) - data['data_samples'].gt_img
    torch.testing.assert_close(value, MMAGIC_LOSSES[loss](diff))


# ------------------------------------------------------------------ contract
def test_image_context_is_a_no_op_context_manager():
    model = _build().eval()
    x = torch.rand(1, 3, 12, 14)
    expected = model.derain_tensor(x)
    with model.image_context(x) as value:
        assert value is None
        torch.testing.assert_close(model.derain_tensor(x), expected)


def test_current_step_reads_the_runner_iteration(monkeypatch):
    model = _build()
    hub = MessageHub('test_current_step')
    monkeypatch.setattr(MessageHub, 'get_current_instance',
                        classmethod(lambda cls: hub))
    # outside a runner: the number of earlier calls
    assert [model.current_step() for _ in range(3)] == [0, 1, 2]
    hub.update_info('iter', 41)  # what a runner sets before each iteration
    assert model.current_step() == 41
    assert model.current_step() == 41


def _tiny_net():
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


def test_frozen_module_moves_with_the_model_but_is_not_trained_or_saved():
    model = _build()
    net = _tiny_net().train()
    model.register_frozen_module('teacher', net)
    assert model.frozen_modules['teacher'] is net
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())
    # not in the state dict, the parameters or the module tree
    assert not any('teacher' in k or k.startswith('0.')
                   for k in model.state_dict())
    assert all(p is not q for p in model.parameters()
               for q in net.parameters())
    assert all(m is not net for m in model.modules())
    model.train()
    assert not net.training
    # moves and casts with the model
    model.double()
    assert net[0].weight.dtype == torch.float64
    assert net[1].running_mean.dtype == torch.float64
    model.float()
    assert net[0].weight.dtype == torch.float32
    with pytest.raises(TypeError):
        model.frozen_modules['other'] = net  # read-only
    with pytest.raises(KeyError, match="'teacher' is taken"):
        model.register_frozen_module('teacher', _tiny_net())
    with pytest.raises(KeyError, match="'generator' is taken"):
        model.register_frozen_module('generator', _tiny_net())
    with pytest.raises(TypeError, match='nn.Module'):
        model.register_frozen_module('fn', lambda x: x)


@pytest.mark.parametrize('stats', ['running', 'batch'])
def test_norm_stats_outside_training(stats):
    """``test_cfg.norm_stats='batch'`` normalises with the image's own
    statistics (a module left in train mode, as Rain2Avoid's test_all.py
    does) without touching the running ones; 'running' is eval mode."""
    init_default_scope('mmderain')
    model = BaseDerainer(
        generator=dict(type='DnCNN', num_layers=3, mid_channels=4),
        pixel_loss=dict(type='MSELoss'),
        test_cfg=dict(norm_stats=stats))
    bn = model.generator.layers[3]
    assert isinstance(bn, torch.nn.BatchNorm2d)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reference = copy.deepcopy(model.generator)
    reference.train(stats == 'batch')
    x = torch.rand(2, 3, 8, 12)
    model.eval()
    with torch.no_grad():
        out = model.forward_tensor(x)
        expected = reference(x)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    # the two modes differ on these statistics
    other = copy.deepcopy(model.generator).train(stats != 'batch')
    with torch.no_grad():
        assert not torch.allclose(out, other(x), atol=1e-3)


def test_norm_stats_is_checked():
    with pytest.raises(ValueError, match='norm_stats'):
        BaseDerainer(
            generator=dict(type='DnCNN', num_layers=3, mid_channels=4),
            pixel_loss=dict(type='MSELoss'),
            test_cfg=dict(norm_stats='train'))


@pytest.mark.parametrize('order', ['RGB', 'BGR'])
def test_tiled_inference_for_large_images(order):
    """test_cfg.tile: large images go through derain_tensor_tiled (in RGB
    [0, 1]); images that fit stay whole."""
    from mmderain.apis import derain_tensor_tiled
    pre = dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order=order)
    torch.manual_seed(0)
    whole = _build(data_preprocessor=pre).eval()
    tiled = _build(
        data_preprocessor=pre, test_cfg=dict(tile=8, tile_overlap=2)).eval()
    tiled.load_state_dict(whole.state_dict())
    batch = _batch(n=1, h=12, w=14)
    with torch.no_grad():
        data = tiled.data_preprocessor(batch)
        got = tiled(data['inputs'], data['data_samples'], mode='predict')
        rgb = torch.stack(batch['inputs']) / 255.
        expected = derain_tensor_tiled(whole, rgb, 8, 2)
        plain = whole(data['inputs'], data['data_samples'], mode='predict')
    # pred_img: BGR in [0, 255], rounded
    want = torch.floor(expected.flip(1) * 255. + 0.5)[0]
    torch.testing.assert_close(got[0].output.pred_img, want, rtol=0, atol=1)
    assert (got[0].output.pred_img - plain[0].output.pred_img).abs().max() > 0
    # an image that fits in one tile is derained whole
    big_tile = _build(data_preprocessor=pre, test_cfg=dict(tile=64)).eval()
    big_tile.load_state_dict(whole.state_dict())
    with torch.no_grad():
        same = big_tile(data['inputs'], data['data_samples'], mode='predict')
    assert torch.equal(same[0].output.pred_img, plain[0].output.pred_img)


@pytest.mark.parametrize('test_cfg', [
    dict(tile=0),
    dict(tile=True),
    dict(tile=8, tile_overlap=8),
    dict(tile=8, tile_overlap=-1)
])
def test_bad_tile_settings(test_cfg):
    with pytest.raises(ValueError, match='test_cfg.tile'):
        _build(test_cfg=test_cfg)
