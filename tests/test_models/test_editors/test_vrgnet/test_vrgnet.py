# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet joint model: the official objective term by term, n_dis, optimisers.
"""
import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmderain.models.editors.vrgnet.variational_losses import (
    gaussian_kl_to_target, standard_normal_kl)
from mmderain.models.editors.vrgnet.vrgnet import VRGNet
from mmderain.registry import MODELS
from tests._helpers import tiny_vrgnet as _build
from tests._helpers import vrgnet_batch as _batch
from tests._helpers import vrgnet_critic_inputs
from tests._helpers import vrgnet_optim as _optim

NAMES = ('generator', 'rain_encoder', 'rain_generator', 'critic')


@MODELS.register_module(force=True)
class _RainMeanLoss(nn.Module):
    """An extra generator-side loss for the tests: ``weight * mean G(z)``.
    """

    def __init__(self, weight=1.0, loss_name=None):
        super().__init__()
        self.weight = weight
        if loss_name:
            self.loss_name = loss_name

    def forward(self, rain, z):
        assert rain.shape[0] == z.shape[0]
        return self.weight * rain.mean()


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
    w = model.rain_generator.main[3].weight if hasattr(model.rain_generator,
                                                       'main') else None
    assert w is not None and abs(w.std().item() - 0.02) < 0.004
    assert abs(model.generator.head.weight.std().item() - 0.02) < 0.004


def test_init_cfg_replaces_the_official_init():
    model = _build(
        init_cfg=dict(
            type='VRGNetOfficialInit', modules=('generator', 'rain_encoder')))
    model.generator.head.weight.data.fill_(1)
    before = copy.deepcopy(model.state_dict())
    model._is_init = False
    model.init_weights()
    after = model.state_dict()
    changed = {
        k.split('.')[0]
        for k in after if not torch.equal(after[k], before[k])
    }
    # only the named sub-networks are drawn again (G and the critic keep
    # PyTorch's initialisation)
    assert changed == {'generator', 'rain_encoder'}
    assert abs(model.generator.head.weight.std().item() - 0.02) < 0.004
    with pytest.raises(ValueError, match="no sub-network 'decoder'"):
        _build(init_cfg=dict(type='VRGNetOfficialInit', modules=('decoder', )))


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
            n: not torch.equal(before[n], next(getattr(model, n).parameters()))
            for n in NAMES
        })
    # iterations 0 and 2 update everything, iteration 1 only the critic
    assert snaps[0] == dict.fromkeys(NAMES, True)
    assert snaps[1] == dict(
        generator=False, rain_encoder=False, rain_generator=False, critic=True)
    assert snaps[2] == dict.fromkeys(NAMES, True)
    assert {'loss_g', 'loss_kl_b', 'loss_kl_z', 'loss_adv'} <= set(logs[0])
    assert 'loss_g' not in logs[1]
    assert {'loss_critic', 'loss_gp', 'loss_d_real', 'loss_d_fake', 'mse'
            } <= set(logs[1])
    # no gradient left on the critic from the generator-side pass
    assert all(p.grad is None or not p.grad.abs().sum()
               for p in model.critic.parameters())


def test_fixed_derainer_trains_only_encoder_generator_critic():
    model = _build(train_derainer=False)
    optim = _optim(model, derainer=False)  # no 'generator' wrapper needed
    MessageHub.get_current_instance().update_info('iter', 0)
    before = {
        n: [p.detach().clone() for p in getattr(model, n).parameters()]
        for n in NAMES
    }
    log = model.train_step(_batch(), optim)
    changed = {
        n: any(not torch.equal(a, b)
               for a, b in zip(before[n],
                               getattr(model, n).parameters()))
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


def test_the_official_critic_compares_rainy_images():
    model = _build(train_derainer=False)
    x, mu_b, real, fake = vrgnet_critic_inputs(model)
    torch.testing.assert_close(real, x)
    assert (fake - mu_b).min() >= -1e-6  # mu_b + G(z), G(z) >= 0
    with pytest.raises(KeyError, match='ResidualCriticInput'):
        _build(critic_input=dict(type='ResidualCriticInput'))


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
        (log['loss_d_real'] + log['loss_d_fake'] + 10 * log['loss_gp']).item(),
        rel=1e-5)


def test_extra_generator_losses_join_the_generator_side_loss():
    runs = {}
    for extra in ((), [
            dict(type='_RainMeanLoss', weight=-5.0, loss_name='loss_mean'),
            dict(type='_RainMeanLoss')
    ]):
        torch.manual_seed(0)
        model = _build(extra_generator_losses=extra)
        optim = _optim(model)
        MessageHub.get_current_instance().update_info('iter', 0)
        torch.manual_seed(1)
        log = model.train_step(_batch(n=4), optim)
        runs[len(extra)] = (log, [
            p.detach().clone() for p in model.rain_generator.parameters()
        ], [p.detach().clone() for p in model.critic.parameters()])
    log0, gen0, critic0 = runs[0]
    log, gen, critic = runs[2]
    assert not {'loss_mean', 'loss_extra1'} & set(log0)
    # logged under their names (or their position), weighted
    assert log['loss_mean'].item() == pytest.approx(-5 *
                                                    log['loss_extra1'].item())
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_b'] + log['loss_kl_z'] +
         log['loss_mean'] + log['loss_extra1']).item(),
        rel=1e-5)
    # the same critic step; a different generator step
    assert all(torch.equal(a, b) for a, b in zip(critic0, critic))
    assert any(not torch.equal(a, b) for a, b in zip(gen0, gen))


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
        model.train_step(
            _batch(),
            OptimWrapperDict(
                generator=OptimWrapper(
                    torch.optim.SGD(model.generator.parameters(), lr=0.1))))
    with pytest.raises(ValueError, match='n_dis'):
        _build(n_dis=0)
    with pytest.raises(NotImplementedError):
        model(torch.zeros(1, 3, 64, 64), None, mode='loss')
    assert isinstance(model, VRGNet)
