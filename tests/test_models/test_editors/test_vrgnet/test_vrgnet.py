# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet joint model: the official objective term by term, n_dis, optimisers.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmagic.structures import DataSample
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import init_default_scope

import mmderain.models.editors.vrgnet.sagan_critic  # noqa: F401
import mmderain.models.editors.vrgnet.variational_prenet  # noqa: F401
import mmderain.models.editors.vrgnet.vrgnet_encoder  # noqa: F401
import mmderain.models.editors.vrgnet.vrgnet_generator  # noqa: F401
from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
from mmderain.models.editors.vrgnet.variational_losses import (
    gaussian_kl_to_target, standard_normal_kl)
from mmderain.models.editors.vrgnet.vrgnet import VRGNet
from mmderain.registry import MODELS

NAMES = ('generator', 'rain_encoder', 'rain_generator', 'critic')


def _build(**kwargs):
    init_default_scope('mmderain')
    cfg = dict(
        type='VRGNet',
        generator=dict(
            type='VariationalPReNet',
            num_stages=2,
            mid_channels=4,
            num_res_blocks=1),
        rain_encoder=dict(
            type='RainEncoder', latent_dim=8, base_channels=4, image_size=64),
        rain_generator=dict(
            type='RainGenerator', latent_dim=8, base_channels=4,
            image_size=64),
        critic=dict(type='SAGANCritic', image_size=64, conv_dim=8))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        gt = torch.randint(0, 200, (3, size, size), generator=g,
                           dtype=torch.uint8)
        img = (gt + torch.randint(0, 56, gt.shape, generator=g)).to(
            torch.uint8)
        ds = DataSample(gt_img=gt)
        ds.set_metainfo(dict(img_channel_order='rgb', gt_channel_order='rgb'))
        inputs.append(img)
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def _optim(model):
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
    return GroupedOptimWrapperConstructor(
        dict(
            generator=adam,
            rain=dict(adam, modules=('rain_encoder', 'rain_generator')),
            critic=adam))(model)


def test_kl_terms_on_known_values():
    mu = torch.tensor([0.5, 0.2])
    logvar = torch.log(torch.tensor([1e-6, 4e-6]))
    target = torch.tensor([0.5, 0.1])
    # 0.5 * mean[(mu-t)^2/eps2 + r - 1 - log r], r = var/eps2 = (1, 4)
    expected = 0.5 * ((0 + 0 + 0) + (0.01 / 1e-6 + 4 - 1 - math.log(4))) / 2
    assert gaussian_kl_to_target(mu, logvar, target).item() == pytest.approx(
        expected, rel=1e-5)
    mu_z, logvar_z = torch.tensor([[1., 0.]]), torch.tensor([[0., 1.]])
    expected_z = 0.5 * ((1 + 1 - 1 - 0) + (0 + math.e - 1 - 1)) / 2
    assert standard_normal_kl(mu_z, logvar_z).item() == pytest.approx(
        expected_z, rel=1e-6)
    # log-variances are clamped to [log 1e-8, log 1e4], gradient 0 outside
    lv = torch.tensor([-30., 20.], requires_grad=True)
    standard_normal_kl(torch.zeros(2), lv).backward()
    assert torch.equal(lv.grad, torch.zeros(2))


def test_init_weights_is_the_official_one():
    model = _build()
    # N(0, 0.02) conv weights for BNet, RNet and G; the critic keeps
    # PyTorch's initialisation (its convs are spectrally normalised)
    w = model.rain_generator.main[3].weight if hasattr(
        model.rain_generator, 'main') else None
    assert w is not None and abs(w.std().item() - 0.02) < 0.004
    assert abs(model.generator.head.weight.std().item() - 0.02) < 0.004


def test_init_selection_and_kaiming_init():
    torch.manual_seed(0)
    model = _build(
        official_init=('generator', 'rain_encoder'),
        kaiming_init=('rain_generator', ))
    assert abs(model.generator.head.weight.std().item() - 0.02) < 0.004
    # Kaiming normal (fan_in = w.size(1) * k * k for ConvTranspose2d, ReLU)
    for m in model.rain_generator.modules():
        if isinstance(m, torch.nn.ConvTranspose2d):
            fan_in = m.weight.size(1) * 16
            assert m.weight.std().item() == pytest.approx(
                math.sqrt(2 / fan_in), rel=0.15)
    # no official init at all: PyTorch's defaults stay
    plain = _build(official_init=False)
    assert plain.generator.head.weight.std().item() > 0.05
    with pytest.raises(ValueError, match='unknown sub-networks'):
        _build(kaiming_init=('critic', ))
    with pytest.raises(ValueError, match='both official_init'):
        _build(kaiming_init=('rain_generator', ))


def test_grey_init_ties_the_generator_channels():
    torch.manual_seed(0)
    rain = _build(grey_init=True).sample_rain(4)
    assert rain.abs().sum() > 0
    assert torch.equal(rain[:, 0], rain[:, 1])
    assert torch.equal(rain[:, 0], rain[:, 2])
    rain = _build().sample_rain(4)
    assert not torch.equal(rain[:, 0], rain[:, 1])


def test_critic_every_step_generator_side_every_n_dis():
    model = _build(n_dis=2)
    optim = _optim(model)
    hub = MessageHub.get_current_instance()
    snaps = []
    logs = []
    for it in range(3):
        hub.update_info('iter', it)
        before = {
            n: next(getattr(model, n).parameters()).detach().clone()
            for n in NAMES
        }
        logs.append(model.train_step(_batch(seed=it), optim))
        snaps.append({
            n: not torch.equal(before[n],
                               next(getattr(model, n).parameters()))
            for n in NAMES
        })
    # iterations 0 and 2 update everything, iteration 1 only the critic
    assert snaps[0] == dict.fromkeys(NAMES, True)
    assert snaps[1] == dict(
        generator=False, rain_encoder=False, rain_generator=False,
        critic=True)
    assert snaps[2] == dict.fromkeys(NAMES, True)
    assert {'loss_g', 'loss_kl_b', 'loss_kl_z', 'loss_adv'} <= set(logs[0])
    assert 'loss_g' not in logs[1]
    assert {'loss_critic', 'loss_gp', 'loss_d_real', 'loss_d_fake',
            'mse'} <= set(logs[1])
    # no gradient left on the critic from the generator-side pass
    assert all(p.grad is None or not p.grad.abs().sum()
               for p in model.critic.parameters())


def test_fixed_derainer_trains_only_encoder_generator_critic():
    model = _build(train_derainer=False)
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
    optim = GroupedOptimWrapperConstructor(
        dict(
            rain=dict(adam, modules=('rain_encoder', 'rain_generator')),
            critic=adam))(model)  # no 'generator' wrapper needed
    MessageHub.get_current_instance().update_info('iter', 0)
    before = {
        n: [p.detach().clone() for p in getattr(model, n).parameters()]
        for n in NAMES
    }
    log = model.train_step(_batch(), optim)
    changed = {
        n: any(not torch.equal(a, b)
               for a, b in zip(before[n], getattr(model, n).parameters()))
        for n in NAMES
    }
    assert changed == dict(
        generator=False, rain_encoder=True, rain_generator=True, critic=True)
    assert all(p.grad is None for p in model.generator.parameters())
    # KL_b is still logged (monitoring) and part of the logged loss_g
    assert log['loss_kl_b'].item() > 0
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_b'] + log['loss_kl_z']).item(),
        rel=1e-5)
    with pytest.raises(KeyError, match=r'wrappers \[.*critic'):
        model.train_step(_batch(), OptimWrapperDict(rain=optim['rain']))


@pytest.mark.parametrize('critic_input', ['image', 'rain'])
def test_what_the_critic_compares(critic_input, monkeypatch):
    model = _build(train_derainer=False, critic_input=critic_input)
    seen = []

    def scores(x):
        seen.append(x.detach())
        return x.mean((1, 2, 3))

    monkeypatch.setattr(model, '_critic_scores', scores)
    MessageHub.get_current_instance().update_info('iter', 1)  # critic only
    batch = _batch()
    data = model.data_preprocessor(batch, True)
    x = data['inputs']
    with torch.no_grad():
        mu_b = model.generator(x)
    model.train_step(batch, _optim(model))
    real, fake = seen[0], seen[1]
    if critic_input == 'image':
        torch.testing.assert_close(real, x)
        assert (fake - mu_b).min() >= -1e-6  # mu_b + G(z), G(z) >= 0
    else:
        torch.testing.assert_close(real, (x - mu_b).clamp(min=0))
        assert real.min() >= 0 and fake.min() >= 0
        assert fake.shape == real.shape
    with pytest.raises(ValueError, match='critic_input'):
        _build(critic_input='residual')


def test_loss_terms_match_the_official_formulas():
    model = _build()
    optim = _optim(model)
    MessageHub.get_current_instance().update_info('iter', 0)
    batch = _batch()
    data = model.data_preprocessor(batch, True)
    x, gt = data['inputs'], data['data_samples'].gt_img
    torch.manual_seed(3)
    with torch.no_grad():
        mu_b, logvar_b = model.generator(x, return_logvar=True)
        mu_z, logvar_z = model.rain_encoder(x)
    log = model.train_step(batch, optim)
    assert log['mse'].item() == pytest.approx(
        F.mse_loss(mu_b, gt).item(), rel=1e-5)
    kl_b = gaussian_kl_to_target(mu_b, logvar_b, gt, 1e-6)
    assert log['loss_kl_b'].item() == pytest.approx(kl_b.item(), rel=1e-5)
    # at initialisation log var_b ~ 0: KL_b ~ 0.5 * (1e6 - 1 - log 1e6)
    assert 4e5 < log['loss_kl_b'].item() < 6e5
    assert log['loss_kl_z'].item() == pytest.approx(
        standard_normal_kl(mu_z, logvar_z).item(), rel=1e-5)
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_b'] + log['loss_kl_z']).item(),
        rel=1e-5)
    assert log['loss_critic'].item() == pytest.approx(
        (log['loss_d_real'] + log['loss_d_fake'] +
         10 * log['loss_gp']).item(), rel=1e-5)


def test_diversity_term_joins_the_generator_side_loss():
    runs = {}
    for weight in (0.0, 5.0):
        torch.manual_seed(0)
        model = _build(diversity_weight=weight, diversity_tau=0.5,
                       kaiming_init=('rain_generator', ),
                       official_init=('generator', 'rain_encoder'))
        optim = _optim(model)
        MessageHub.get_current_instance().update_info('iter', 0)
        torch.manual_seed(1)
        log = model.train_step(_batch(n=4), optim)
        runs[weight] = (log, [
            p.detach().clone() for p in model.rain_generator.parameters()
        ], [p.detach().clone() for p in model.critic.parameters()])
    log0, gen0, critic0 = runs[0.0]
    log, gen, critic = runs[5.0]
    assert 'loss_div' not in log0
    assert -0.5 <= log['loss_div'].item() < 0
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_b'] + log['loss_kl_z'] +
         5 * log['loss_div']).item(), rel=1e-5)
    # the same critic step; a different generator step
    assert all(torch.equal(a, b) for a, b in zip(critic0, critic))
    assert any(not torch.equal(a, b) for a, b in zip(gen0, gen))
    with pytest.raises(ValueError, match='diversity_tau'):
        _build(diversity_tau=0)
    with pytest.raises(ValueError, match='diversity_weight'):
        _build(diversity_weight=-1)


def test_critic_on_ground_truth_rain_skips_the_frozen_derainer():
    model = _build(critic_input='gt_rain', train_derainer=False,
                   diversity_weight=1.0, diversity_tau=1.4,
                   diversity_normalize=True)

    def no_derainer(*args, **kwargs):
        raise AssertionError('the derainer ran')

    model.generator.forward = no_derainer
    seen = []
    forward = model.critic.forward

    def recording(x):
        seen.append(x.detach().clone())
        return forward(x)

    model.critic.forward = recording
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
    optim = GroupedOptimWrapperConstructor(
        dict(rain=dict(adam, modules=('rain_encoder', 'rain_generator')),
             critic=adam))(model)
    MessageHub.get_current_instance().update_info('iter', 0)
    batch = _batch(n=2)
    log = model.train_step(batch, optim)
    rainy = torch.stack(batch['inputs']).float() / 255
    gt = torch.stack([d.gt_img for d in batch['data_samples']]).float() / 255
    # the critic's first input is max(O - B, 0), RGB
    torch.testing.assert_close(seen[0], (rainy - gt).clamp(min=0))
    assert 'mse' not in log and 'loss_kl_b' not in log
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_z'] + log['loss_div']).item(),
        rel=1e-5)
    # with a trained derainer it still runs and is supervised
    model = _build(critic_input='gt_rain')
    log = model.train_step(_batch(n=2), _optim(model))
    assert 'loss_kl_b' in log and 'mse' in log
    with pytest.raises(ValueError, match='critic_input'):
        _build(critic_input='rainy')


def test_inference_is_the_derainer_mean():
    model = _build().eval()
    batch = _batch(n=1)
    out = model.test_step(batch)[0].output.pred_img
    x = batch['inputs'][0].float()[None] / 255
    with torch.no_grad():
        mu = model.generator(x)
    expected = torch.floor((mu.clamp(0, 1) * 255).flip(1)[0] + 0.5)
    torch.testing.assert_close(out, expected, atol=1, rtol=0)


def test_errors():
    model = _build()
    with pytest.raises(KeyError, match='optimizer wrappers'):
        model.train_step(_batch(), OptimWrapperDict(
            generator=OptimWrapper(torch.optim.SGD(
                model.generator.parameters(), lr=0.1))))
    with pytest.raises(ValueError, match='n_dis'):
        _build(n_dis=0)
    with pytest.raises(NotImplementedError):
        model(torch.zeros(1, 3, 64, 64), None, mode='loss')
    assert isinstance(model, VRGNet)
