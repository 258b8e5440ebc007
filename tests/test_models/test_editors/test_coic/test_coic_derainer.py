# Copyright (c) mmderain contributors. All rights reserved.
"""CoICDerainer: warm-up and CoIC steps, optimiser split, test-time codes."""
import pytest
import torch
import torch.nn.functional as F
from mmagic.structures import DataSample
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
from mmderain.models.editors.coic import modulation_code
from mmderain.models.editors.coic.coic_derainer import CoICDerainer
from mmderain.registry import MODELS

SIZE = 16


def _cfg(**train_cfg):
    return dict(
        type='CoICDerainer',
        generator=dict(
            type='BRN',
            num_iters=2,
            mid_channels=4,
            conv_cfg=dict(type='CoIMConv2d', code_dim=8)),
        encoder=dict(type='MomentumEncoder', mid_channels=4, code_dim=8),
        pixel_loss=dict(type='SSIMLoss'),
        contrastive_loss=dict(type='CoICContrastiveLoss', loss_weight=0.2),
        train_cfg=dict(dict(stage1_iters=0), **train_cfg),
        test_cfg=dict(context_size=SIZE),
        data_preprocessor=dict(
            type='DerainDataPreprocessor',
            mean=[0.] * 3,
            std=[255.] * 3,
            output_channel_order='RGB',
            optional_data_keys=['img_ctx', 'gt_ctx']))


def _build(**train_cfg):
    init_default_scope('mmderain')
    torch.manual_seed(0)
    return MODELS.build(_cfg(**train_cfg))


def _wrappers(model):
    return GroupedOptimWrapperConstructor(
        dict(
            base=dict(
                type='OptimWrapper',
                optimizer=dict(type='Adam', lr=1e-2),
                modules=('generator', ),
                exclude=dict(generator='g2pa')),
            tran=dict(
                type='OptimWrapper',
                optimizer=dict(type='Adam', lr=1e-2),
                modules=('generator', 'encoder'),
                include=dict(generator='g2pa'))))(
                    model)


def _batch(n=3, ctx=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        gt = torch.rand(3, SIZE, SIZE, generator=g) * 200
        rain = (torch.rand(3, SIZE, SIZE, generator=g) > 0.9) * 55.
        s = DataSample(gt_img=gt)
        meta = dict(gt_channel_order='rgb', img_channel_order='rgb')
        if ctx:
            s.set_tensor_data(dict(img_ctx=gt + rain, gt_ctx=gt.clone()))
            meta.update(
                img_ctx_channel_order='rgb', gt_ctx_channel_order='rgb')
        s.set_metainfo(meta)
        inputs.append(gt + rain)
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _snapshot(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def _changed(before, module):
    return {
        n
        for n, p in module.named_parameters()
        if not torch.equal(before[n], p.detach())
    }


def _set_iter(i):
    MessageHub.get_current_instance().update_info('iter', i)


def test_warmup_step_trains_the_plain_backbone_only():
    model = _build(stage1_iters=5)
    wrappers = _wrappers(model)
    gen, enc = _snapshot(model.generator), _snapshot(model.encoder)
    _set_iter(5)  # official: step <= stage1_iters is warm-up
    log = model.train_step(_batch(ctx=False), wrappers)
    assert set(log) == {'loss', 'loss_SSIMLoss'}
    changed = _changed(gen, model.generator)
    assert changed and not any('g2pa' in n for n in changed)
    assert not _changed(enc, model.encoder)  # encoder not run, no EMA


def test_coic_step_trains_modulation_and_encoder():
    model = _build(stage1_iters=5)
    wrappers = _wrappers(model)
    gen, enc = _snapshot(model.generator), _snapshot(model.encoder)
    _set_iter(6)
    log = model.train_step(_batch(), wrappers)
    assert {'loss_contrastive', 'contrastive_acc', 'loss_SSIMLoss'} <= set(log)
    assert 0 <= log['contrastive_acc'] <= 1
    changed = _changed(gen, model.generator)
    assert any('g2pa' in n for n in changed)
    assert any('g2pa' not in n for n in changed)
    enc_changed = _changed(enc, model.encoder)
    assert any(n.startswith('encoder_q.') for n in enc_changed)
    # the key encoder follows the query encoder by EMA (no gradients)
    assert any(n.startswith('encoder_k.') for n in enc_changed)
    k = dict(model.encoder.named_parameters())
    name = 'encoder_k.' + next(
        n for n in enc if n.startswith('encoder_q.'))[len('encoder_q.'):]
    expected = 0.999 * enc[name] + 0.001 * enc[name.replace(
        'encoder_k.', 'encoder_q.')]
    torch.testing.assert_close(k[name].detach(), expected)


def test_contrastive_loss_decreases():
    model = _build()
    wrappers = _wrappers(model)
    losses = []
    for i in range(30):
        _set_iter(1 + i)
        losses.append(
            model.train_step(_batch(seed=i % 3),
                             wrappers)['loss_contrastive'].item())
    assert sum(losses[-5:]) < sum(losses[:5])


def test_rain_bank_keeps_the_last_batches():
    model = _build(rain_bank_batches=2)
    wrappers = _wrappers(model)
    for i in range(3):
        _set_iter(1 + i)
        model.train_step(_batch(seed=i), wrappers)
    assert len(model._rain_bank) == 2


def test_errors():
    model = _build()
    _set_iter(1)
    with pytest.raises(KeyError, match="'img_ctx'"):
        model.train_step(_batch(ctx=False), _wrappers(model))
    with pytest.raises(KeyError, match='optimizer wrappers'):
        model.train_step(_batch(), dict(base=None))
    cfg = _cfg()
    cfg['generator']['conv_cfg'] = None
    with pytest.raises(ValueError, match='no CoIMConv2d'):
        MODELS.build(cfg)
    with pytest.raises(ValueError, match='rain_bank_batches'):
        _build(rain_bank_batches=0)


def test_inference_uses_the_key_encoder_on_the_resized_image():
    model = _build().eval()
    x = torch.rand(2, 3, 24, 20)
    with torch.no_grad():
        out = model.forward_tensor(x)
        ctx = F.interpolate(
            x, (SIZE, SIZE),
            mode='bilinear',
            antialias=True,
            align_corners=False)
        z = model.encoder.key_code(ctx)
        with modulation_code(model.generator, z):
            expected = model.generator(x)
        plain = model.generator(x)
    torch.testing.assert_close(out, expected)
    assert (out - plain).abs().max() > 1e-6  # the code matters


def test_image_context_shares_one_code():
    model = _build().eval()
    whole = torch.rand(1, 3, 24, 24)
    with torch.no_grad(), model.image_context(whole):
        code = model._shared_code.clone()
        tile = model.derain_tensor(whole[..., :12, :12])
    assert model._shared_code is None
    with torch.no_grad(), modulation_code(model.generator, code):
        expected = model.generator(whole[..., :12, :12]).clamp(0, 1)
    torch.testing.assert_close(tile, expected)
    assert isinstance(model, CoICDerainer)
