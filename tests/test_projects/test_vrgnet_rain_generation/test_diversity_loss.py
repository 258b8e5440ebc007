# Copyright (c) mmderain contributors. All rights reserved.
"""The diversity-sensitive term of the VRGNet rain-generation project."""
import pytest
import torch
from mmengine.logging import MessageHub

from projects.vrgnet_rain_generation.models import (DiversitySensitiveLoss,
                                                    diversity_ratio,
                                                    diversity_sensitive_loss)
from tests._helpers import tiny_vrgnet, vrgnet_batch, vrgnet_optim


def test_diversity_ratio_on_known_values():
    codes = torch.tensor([[0., 0.], [1., 1.], [2., 0.], [1., 3.]])
    outputs = torch.zeros(4, 1, 2, 2)
    outputs[2] = 0.5  # pair (0, 2) differs by 0.5, pair (1, 3) by 0
    # mean |out| gap 0.25, mean |code| gap (2 + 0 + 0 + 2) / 4 = 1
    assert diversity_ratio(outputs, codes).item() == pytest.approx(0.25)
    # an odd batch leaves its last sample out
    odd = diversity_ratio(
        torch.cat([outputs, outputs[:1]]), torch.cat([codes, codes[:1]]))
    assert odd.item() == pytest.approx(0.25)
    # a generator that ignores its code scores 0
    assert diversity_ratio(torch.ones(4, 3), codes).item() == 0


def test_normalized_ratio_ignores_strength():
    codes = torch.tensor([[0., 0.], [1., 1.], [2., 0.], [1., 3.]])
    pattern = torch.rand(1, 3, 4, 4) + 0.1
    # the same pattern at four strengths: apart unnormalised, equal after
    outputs = pattern * torch.tensor([1., 2., 3., 4.]).view(4, 1, 1, 1)
    assert diversity_ratio(outputs, codes).item() > 0.1
    assert diversity_ratio(outputs, codes, normalize=True).item() == \
        pytest.approx(0, abs=1e-6)
    # where the output is bright counts: two one-hot layers differ by
    # 2 / 16 per pixel after division by their means (1 / 16)
    moved = torch.zeros(4, 1, 4, 4)
    moved[0, 0, 0, 0] = moved[2, 0, 3, 3] = 5.
    moved[1, 0, 1, 1] = moved[3, 0, 1, 2] = 0.1
    assert diversity_ratio(moved, codes, normalize=True).item() == \
        pytest.approx(2.0)
    # near-zero outputs are divided by the floor, not by their mean
    tiny = moved * 1e-6
    assert diversity_ratio(tiny, codes, normalize=True).item() < 1e-3
    loss = diversity_sensitive_loss(moved, codes, tau=1.5, normalize=True)
    assert loss.item() == pytest.approx(-1.5)


def test_diversity_loss_is_clipped_and_pushes_outputs_apart():
    codes = torch.randn(4, 8)
    outputs = torch.rand(4, 3, 4, 4, requires_grad=True)
    ratio = diversity_ratio(outputs, codes).item()
    loss = diversity_sensitive_loss(outputs, codes, tau=ratio * 2)
    assert loss.item() == pytest.approx(-ratio)
    loss.backward()
    gap = (outputs[:2] - outputs[2:]).detach()
    # descending the loss moves paired outputs apart
    assert (outputs.grad[:2] * gap <= 0).all()
    assert (outputs.grad[:2] * gap).sum() < 0
    outputs.grad = None
    clipped = diversity_sensitive_loss(outputs, codes, tau=ratio / 2)
    assert clipped.item() == pytest.approx(-ratio / 2)
    clipped.backward()
    assert not outputs.grad.abs().sum()


def test_diversity_errors():
    with pytest.raises(ValueError, match='>= 2 outputs'):
        diversity_ratio(torch.ones(1, 3), torch.ones(1, 2))
    with pytest.raises(ValueError, match='3 codes'):
        diversity_ratio(torch.ones(4, 3), torch.ones(3, 2))
    with pytest.raises(ValueError, match='tau'):
        diversity_sensitive_loss(torch.ones(4, 3), torch.ones(4, 2), 0)


def test_loss_module_weights_and_detaches_the_codes():
    torch.manual_seed(0)
    rain = torch.rand(4, 3, 8, 8, requires_grad=True)
    z = torch.randn(4, 2, requires_grad=True)
    loss = DiversitySensitiveLoss(loss_weight=3.0, tau=10.0, normalize=True)
    value = loss(rain=rain, z=z)
    assert loss.loss_name == 'loss_div'
    assert value.item() == pytest.approx(
        3 * diversity_sensitive_loss(rain, z, 10.0, True).item())
    value.backward()
    assert z.grad is None and rain.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='loss_weight and tau'):
        DiversitySensitiveLoss(loss_weight=0)


def test_diversity_term_joins_vrgnet_generator_side_loss():
    runs = {}
    for weight in (0.0, 5.0):
        torch.manual_seed(0)
        extra = [
            dict(type='DiversitySensitiveLoss', loss_weight=weight, tau=0.5)
        ] if weight else []
        model = tiny_vrgnet(
            extra_generator_losses=extra,
            init_cfg=[
                dict(
                    type='VRGNetOfficialInit',
                    modules=('generator', 'rain_encoder')),
                dict(type='VRGNetKaimingInit')
            ])
        optim = vrgnet_optim(model)
        MessageHub.get_current_instance().update_info('iter', 0)
        torch.manual_seed(1)
        log = model.train_step(vrgnet_batch(n=4), optim)
        runs[weight] = (log, [
            p.detach().clone() for p in model.rain_generator.parameters()
        ])
    log0, gen0 = runs[0.0]
    log, gen = runs[5.0]
    assert 'loss_div' not in log0
    assert -0.5 * 5 <= log['loss_div'].item() < 0  # weighted, clipped
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_b'] + log['loss_kl_z'] +
         log['loss_div']).item(),
        rel=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(gen0, gen))
