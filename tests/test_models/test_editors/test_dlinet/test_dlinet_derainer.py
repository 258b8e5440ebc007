# Copyright (c) mmderain contributors. All rights reserved.
"""DLINetDerainer: stage-1 / stage-2 losses, teacher handling, inference."""
import pytest
import torch
import torch.nn.functional as F
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmderain.models.editors.dlinet import DLINetDerainer
from mmderain.registry import MODELS

ARCH = dict(type='DLINet', num_masks=2, num_msa_blocks=2, mid_channels=4)
MASK_LOSS = dict(type='BinaryCrossEntropyLoss', loss_weight=1e4)


def _build(stage='first', **kwargs):
    init_default_scope('mmderain')
    cfg = dict(type='DLINetDerainer', generator=dict(ARCH, stage=stage))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _stage2(**kwargs):
    return _build('second', mask_loss=MASK_LOSS, **kwargs)


def _batch(n=2, h=16, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        gt = torch.randint(0, 200, (3, h, w), generator=g, dtype=torch.uint8)
        img = (gt + torch.randint(0, 56,
                                  (3, h, w), generator=g)).to(torch.uint8)
        ds = DataSample(gt_img=gt)
        ds.set_metainfo(dict(img_channel_order='rgb', gt_channel_order='rgb'))
        inputs.append(img)
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def _preprocessed(model, batch, training=True):
    data = model.data_preprocessor(batch, training=training)
    return data['inputs'], data['data_samples']


def test_defaults_work_in_0_255_rgb():
    model = _build()
    x, samples = _preprocessed(model, _batch())
    assert x.max() > 1 and x.max() <= 255
    assert torch.equal(
        samples.gt_img,
        torch.stack([s.gt_img for s in _batch()['data_samples']]).float())
    assert model.pad_multiple == 8 and model.stage == 'first'
    assert model.teacher is None and model.mask_loss is None


def test_stage1_loss_is_mse_of_the_rain_layer():
    model = _build()
    x, samples = _preprocessed(model, _batch())
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_MSELoss'}
    rain = model.generator(x, samples.gt_img)
    expected = F.mse_loss(rain, x - samples.gt_img)  # official: MSE(R, x-y)
    assert losses['loss_MSELoss'].item() == pytest.approx(
        expected.item(), rel=1e-5)


def test_stage1_crop_multiple_crops_top_left():
    model = _build(train_cfg=dict(crop_multiple=8))
    x, samples = _preprocessed(model, _batch(h=21, w=19))
    losses = model(x, samples, mode='loss')
    xc, yc = x[..., :16, :16], samples.gt_img[..., :16, :16]
    expected = F.mse_loss(model.generator(xc, yc), xc - yc)
    assert losses['loss_MSELoss'].item() == pytest.approx(
        expected.item(), rel=1e-5)
    with pytest.raises(ValueError, match='crop_multiple'):
        model(x[..., :6, :6], samples, mode='loss')


def test_stage2_loss_adds_weighted_bce_to_frozen_teacher_masks():
    model = _stage2()
    stage1 = _build()
    model.load_teacher(stage1.generator.state_dict())
    # the teacher: same architecture, stage 1, frozen, eval, not saved
    assert model.teacher.stage == 'first' and not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert not any(
        k.startswith(('teacher', '_teacher')) for k in model.state_dict())
    model.train()
    assert not model.teacher.training
    x, samples = _preprocessed(model, _batch())
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_MSELoss', 'loss_mask'}
    stage1.eval()
    with torch.no_grad():
        target = stage1.generator.detect(x, samples.gt_img)
    assert set(target.unique().tolist()) <= {0., 1.}
    rain, masks = model.generator(x, return_masks=True)
    expected_bce = 1e4 * F.binary_cross_entropy(masks, target)
    assert losses['loss_mask'].item() == pytest.approx(
        expected_bce.item(), rel=1e-4)
    assert losses['loss_MSELoss'].item() == pytest.approx(
        F.mse_loss(rain, x - samples.gt_img).item(), rel=1e-4)
    # gradients reach the student only
    losses['loss_mask'].backward()
    assert model.generator.rain_detect.mask_decoder_s[
        0].weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())


def test_stage2_train_step_needs_a_loaded_teacher():
    model = _stage2()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    with pytest.raises(RuntimeError, match='LoadStageCheckpointHook'):
        model.train_step(_batch(), optim)
    model.load_teacher(_build().generator.state_dict())
    before = model.generator.rain_detect.mask_decoder_s[0].weight.clone()
    log = model.train_step(_batch(), optim)
    assert set(log) >= {'loss', 'loss_MSELoss', 'loss_mask'}
    assert not torch.equal(
        before, model.generator.rain_detect.mask_decoder_s[0].weight)


def test_teacher_moves_with_the_model():
    model = _stage2()
    model.double()
    assert next(model.teacher.parameters()).dtype == torch.float64
    model.float()
    assert next(model.teacher.parameters()).dtype == torch.float32


def test_stage2_inference_pads_and_returns_bgr_0_255():
    model = _build('second').eval()
    batch = _batch(n=1, h=13, w=18)
    out = model.test_step(batch)[0]
    assert out.output.pred_img.shape == (3, 13, 18)
    x = batch['inputs'][0].float()[None]
    padded = F.pad(x, (0, 6, 0, 3), mode='reflect')
    with torch.no_grad():
        derained = (padded - model.generator(padded))[..., :13, :18]
    # clamped to [0, 255], rounded, RGB -> BGR
    expected = torch.floor(derained.clamp(0, 255) + 0.5).flip(1)[0]
    torch.testing.assert_close(out.output.pred_img, expected)
    # derain_tensor: RGB [0, 1] in and out
    y = model.derain_tensor(x / 255)
    torch.testing.assert_close(y, (derained / 255).clamp(0, 1))


def test_stage1_inference_is_an_oracle_reading_gt():
    model = _build().eval()
    batch = _batch(n=1)
    pred = model.test_step(batch)[0].output.pred_img
    x = batch['inputs'][0].float()[None]
    y = batch['data_samples'][0].gt_img.float()[None]
    with torch.no_grad():
        derained = x - model.generator(x, y)
    torch.testing.assert_close(
        pred,
        torch.floor(derained.clamp(0, 255) + 0.5).flip(1)[0])
    with pytest.raises(ValueError, match='clean image'):
        model.derain_tensor(x / 255)


def test_config_errors():
    with pytest.raises(ValueError, match="stage='first'"):
        _build('first', mask_loss=MASK_LOSS)
    with pytest.raises(ValueError, match='only used with mask_loss'):
        _build('second', teacher=dict(ARCH, stage='first'))
    with pytest.raises(ValueError, match="stage='first'"):
        _stage2(teacher=dict(ARCH, stage='second'))
    with pytest.raises(ValueError, match='masks'):
        _stage2(teacher=dict(ARCH, stage='first', num_masks=3))
    with pytest.raises(ValueError, match='pad_multiple'):
        _build(pad_multiple=4)
    with pytest.raises(TypeError, match='DLINet generator'):
        MODELS.build(
            dict(
                type='DLINetDerainer',
                generator=dict(
                    type='PReNet',
                    num_stages=1,
                    mid_channels=4,
                    num_res_blocks=1)))
    with pytest.raises(RuntimeError, match='no teacher'):
        _build('second').load_teacher({})
    assert isinstance(_stage2(), DLINetDerainer)
