# Copyright (c) mmderain contributors. All rights reserved.
"""SSIDKDDerainer: teacher loss, student losses in both modes, teacher."""
import pytest
import torch
import torch.nn as nn
from mmagic.structures import DataSample
from mmengine.registry import init_default_scope

from mmderain.engine.hooks import LoadStageCheckpointHook
from mmderain.models.losses import ssim
from mmderain.registry import MODELS

#: A tiny SSIDKDNet (the code has 6 channels at 1/4 scale).
ARCH = dict(type='SSIDKDNet', channels=(4, 5, 6), num_units=(2, 1, 1))


@MODELS.register_module(force=True)
class _MeanPrior(nn.Module):
    """A one-image loss whose value is easy to recompute."""

    def forward(self, x):
        return (x * x).mean()


@MODELS.register_module(force=True)
class _CodeMSE(nn.Module):
    """A code loss ``(code, target)`` that is not symmetric in its sides."""

    def forward(self, code, target):
        return ((code - 2 * target)**2).mean()


STUDENT = dict(
    pixel_loss=dict(type='L1Loss', loss_weight=20.0),
    prior_losses=[dict(type='_MeanPrior')],
    code_loss=dict(type='_CodeMSE'))


def _build(**kwargs):
    init_default_scope('mmderain')
    cfg = dict(
        type='SSIDKDDerainer',
        generator=ARCH,
        data_preprocessor=dict(
            type='DerainDataPreprocessor',
            mean=[0., 0., 0.],
            std=[255., 255., 255.],
            output_channel_order='RGB',
            optional_data_keys=['real_img']))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _batch(n=2, size=32, real=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        gt = torch.randint(
            0, 200, (3, size, size), generator=g, dtype=torch.uint8)
        img = (gt + torch.randint(0, 56, (3, size, size), generator=g)).to(
            torch.uint8)
        ds = DataSample(gt_img=gt)
        meta = dict(img_channel_order='rgb', gt_channel_order='rgb')
        if real:
            ds.set_tensor_data(
                dict(
                    real_img=torch.randint(
                        0,
                        256, (3, size, size),
                        generator=g,
                        dtype=torch.uint8)))
            meta['real_img_channel_order'] = 'rgb'
        ds.set_metainfo(meta)
        inputs.append(img)
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def _preprocessed(model, batch):
    data = model.data_preprocessor(batch, training=True)
    return data['inputs'], data['data_samples']


def test_teacher_is_trained_with_negative_ssim():
    model = _build()
    assert model.kd_mode is None and model.teacher is None
    x, samples = _preprocessed(model, _batch(real=False))
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_SSIMLoss'}
    derain = model.generator(x)[0]
    expected = -ssim(derain, samples.gt_img, model.pixel_loss.window)
    torch.testing.assert_close(losses['loss_SSIMLoss'], expected)


def test_inference_returns_the_derained_image_of_any_size():
    model = _build().eval()
    x = torch.rand(1, 3, 20, 37)  # < 32: the network pads
    out = model.forward_tensor(x)
    derain, rain, _ = model.generator(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, derain)
    torch.testing.assert_close(x - rain, derain)
    pred = model(
        *_preprocessed(model, _batch(n=1, real=False)), mode='predict')
    assert pred[0].output.pred_img.shape == (3, 32, 32)


def test_official_student_losses():
    model = _build(kd_mode='official', **STUDENT)
    x, samples = _preprocessed(model, _batch())
    real = samples.real_img
    assert real.shape == x.shape and real.max() <= 1
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_L1Loss', 'loss__MeanPrior', 'loss_code'}
    syn_d, _, syn_c = model.generator(x)
    real_d, _, real_c = model.generator(real)
    l1 = 20 * (syn_d - samples.gt_img).abs().mean()
    prior = (syn_d**2).mean() + (real_d**2).mean()
    code = ((syn_c - 2 * real_c)**2).mean()  # code_loss(syn, real)
    torch.testing.assert_close(losses['loss_L1Loss'], l1)
    torch.testing.assert_close(losses['loss__MeanPrior'], prior)
    torch.testing.assert_close(losses['loss_code'], code)
    # neither side is detached: the code loss reaches both forward passes
    model.zero_grad()
    losses['loss_code'].backward()
    grad = model.generator.head[0].weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_distilling_student_pulls_real_codes_towards_the_teacher():
    model = _build(kd_mode='distill', **STUDENT)
    assert model.teacher is not None
    assert not any(k.startswith('teacher') for k in model.state_dict())
    x, samples = _preprocessed(model, _batch())
    with pytest.raises(RuntimeError, match='LoadStageCheckpointHook'):
        model(x, samples, mode='loss')
    # a teacher different from the student
    state = {
        k: v + 0.01 * torch.randn_like(v)
        for k, v in model.generator.state_dict().items()
    }
    model.load_teacher(state)
    losses = model(x, samples, mode='loss')
    real_c = model.generator(samples.real_img)[2]
    with torch.no_grad():
        teacher_c = model.teacher(samples.real_img)[2]
    torch.testing.assert_close(losses['loss_code'],
                               ((real_c - 2 * teacher_c)**2).mean())
    losses['loss_code'].backward()
    assert all(p.grad is None for p in model.teacher.parameters())


def test_student_without_real_images_is_told_how_to_add_them():
    model = _build(kd_mode='official', **STUDENT)
    x, samples = _preprocessed(model, _batch(real=False))
    with pytest.raises(KeyError, match='PairedUnpairedDataset'):
        model(x, samples, mode='loss')


@pytest.mark.parametrize(
    'kwargs, match',
    [(dict(kd_mode='kd'), 'kd_mode must be'),
     (dict(prior_losses=[dict(type='_MeanPrior')]), 'set kd_mode'),
     (dict(kd_mode='official'), 'needs code_loss'),
     (dict(kd_mode='official', code_loss=dict(type='_CodeMSE'),
           teacher=ARCH), 'only used with')])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)


def test_stage_hook_initialises_the_whole_student_from_the_teacher():
    teacher = _build()
    student = _build(kd_mode='official', **STUDENT)
    state = {k: v + 1.0 for k, v in teacher.generator.state_dict().items()}
    hook = LoadStageCheckpointHook(
        'unused.pth', teacher=False, init_prefixes=('', ))
    hook.init_generator(student.generator, state, 'unused.pth')
    for k, v in student.generator.state_dict().items():
        assert torch.equal(v, state[k]), k
