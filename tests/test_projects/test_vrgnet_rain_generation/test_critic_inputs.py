# Copyright (c) mmderain contributors. All rights reserved.
"""Rain-layer critic inputs of VRGNet (the rain-generation project)."""
import pytest
import torch
from mmengine.logging import MessageHub

import projects.vrgnet_rain_generation.models  # noqa: F401
from tests._helpers import (tiny_vrgnet, vrgnet_batch, vrgnet_critic_inputs,
                            vrgnet_optim)


def test_critic_on_the_derainers_rain_estimate():
    model = tiny_vrgnet(
        train_derainer=False, critic_input=dict(type='RainCriticInput'))
    x, mu_b, real, fake = vrgnet_critic_inputs(model)
    torch.testing.assert_close(real, (x - mu_b).clamp(min=0))
    assert real.min() >= 0 and fake.min() >= 0
    assert fake.shape == real.shape


def test_critic_on_ground_truth_rain_skips_the_frozen_derainer():
    model = tiny_vrgnet(
        critic_input=dict(type='GTRainCriticInput'),
        train_derainer=False,
        extra_generator_losses=[
            dict(type='DiversitySensitiveLoss', tau=1.4, normalize=True)
        ])

    def no_derainer(*args, **kwargs):
        raise AssertionError('the derainer ran')

    model.generator.forward = no_derainer
    seen = []
    forward = model.critic.forward

    def recording(x):
        seen.append(x.detach().clone())
        return forward(x)

    model.critic.forward = recording
    MessageHub.get_current_instance().update_info('iter', 0)
    batch = vrgnet_batch(n=2)
    log = model.train_step(batch, vrgnet_optim(model, derainer=False))
    rainy = torch.stack(batch['inputs']).float() / 255
    gt = torch.stack([d.gt_img for d in batch['data_samples']]).float() / 255
    # the critic's first input is max(O - B, 0), RGB
    torch.testing.assert_close(seen[0], (rainy - gt).clamp(min=0))
    assert 'mse' not in log and 'loss_kl_b' not in log
    assert log['loss_g'].item() == pytest.approx(
        (log['loss_adv'] + log['loss_kl_z'] + log['loss_div']).item(),
        rel=1e-5)
    # with a trained derainer it still runs and is supervised
    model = tiny_vrgnet(critic_input=dict(type='GTRainCriticInput'))
    log = model.train_step(vrgnet_batch(n=2), vrgnet_optim(model))
    assert 'loss_kl_b' in log and 'mse' in log
