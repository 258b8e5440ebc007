# Copyright (c) mmderain contributors. All rights reserved.
"""A derainer trained with a pixel loss and an adversarial patch critic."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict

from mmderain.models.base_models import MultiOptimDerainer
from mmderain.registry import MODELS


@MODELS.register_module()
class ExampleGANDerainer(MultiOptimDerainer):
    """Derainer (``generator``) plus patch critic (``critic``).

    Each iteration ``t`` (0-based):

    1. from ``t = warmup_iters`` on, a critic step: non-saturating GAN loss
       ``softplus(-D(y)) + softplus(D(G(x)))`` on clean images ``y`` and
       derained images ``G(x)`` (no gradient into the derainer);
    2. a derainer step: ``pixel_loss(G(x), y)``, plus from ``warmup_iters``
       on ``adv_weight * softplus(-D(G(x)))`` (the critic's parameters are
       frozen for this pass).

    Inference (and ``forward_train``, the pixel losses) is
    :class:`~mmderain.models.BaseDerainer`'s: the critic is not used.

    Args:
        generator (dict): Config of the deraining network (any registered
            backbone).
        critic (dict): Config of the critic.
        pixel_loss (dict | list[dict]): Reconstruction loss(es).
        adv_weight (float): Weight of the adversarial loss. Defaults to
            0.01.
        warmup_iters (int): Iterations with the pixel loss only (no critic
            step). Defaults to 0.
        train_cfg, test_cfg, pad_multiple, init_cfg, data_preprocessor: See
            :class:`~mmderain.models.BaseDerainer`.
    """

    optim_wrapper_names = ('generator', 'critic')
    optim_wrapper_help = (
        "GroupedOptimWrapperConstructor with groups 'generator' and "
        "'critic', as in projects/example_method/configs/"
        'gan-prenet_t4-c16_b8-p64-2k_rain100l.py')

    def __init__(self,
                 generator: dict,
                 critic: dict,
                 pixel_loss: Union[dict, Sequence[dict]],
                 adv_weight: float = 0.01,
                 warmup_iters: int = 0,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pad_multiple: int = 1,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(
            generator=generator,
            pixel_loss=pixel_loss,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            pad_multiple=pad_multiple,
            init_cfg=init_cfg,
            data_preprocessor=data_preprocessor)
        if adv_weight < 0 or warmup_iters < 0:
            raise ValueError('adv_weight and warmup_iters must be >= 0, got '
                             f'{adv_weight} and {warmup_iters}')
        self.critic = MODELS.build(critic)
        self.adv_weight = adv_weight
        self.warmup_iters = warmup_iters

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One iteration: a critic step (after warm-up), a derainer step.

        Args:
            data (dict): A batch (``inputs`` rainy, ``data_samples`` with
                ``gt_img``).
            optim_wrapper (OptimWrapperDict): Wrappers ``generator`` and
                ``critic``.

        Returns:
            dict[str, Tensor]: Logged values: ``loss`` (the derainer's),
            ``loss_<PixelLoss>`` and after warm-up ``loss_adv`` and
            ``loss_critic``.
        """
        self.check_optim_wrappers(optim_wrapper)
        data = self.data_preprocessor(data, True)
        inputs, gt = data['inputs'], data['data_samples'].gt_img
        adversarial = self.current_step() >= self.warmup_iters

        gen_ow, critic_ow = optim_wrapper['generator'], optim_wrapper['critic']
        with gen_ow.optim_context(self.generator):
            pred = self.forward_tensor(inputs)
        log = {}
        if adversarial:
            # (1) critic step; derained images without gradient
            with critic_ow.optim_context(self.critic):
                loss_critic = (
                    F.softplus(-self.critic(gt)).mean() +
                    F.softplus(self.critic(pred.detach())).mean())
            critic_ow.update_params(loss_critic)
            log['loss_critic'] = loss_critic.detach()

        # (2) derainer step; the critic only passes gradients through
        with gen_ow.optim_context(self.generator):
            losses = {
                f'loss_{type(fn).__name__}': fn(pred, gt)
                for fn in [self.pixel_loss, *self.extra_losses]
            }
            if adversarial:
                with self.no_param_grad(self.critic):
                    losses['loss_adv'] = self.adv_weight * F.softplus(
                        -self.critic(pred)).mean()
            loss, parsed = self.parse_losses(losses)
        gen_ow.update_params(loss)
        parsed.update(log)
        return parsed
