# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet joint training: variational derainer, rain encoder, generator,
critic (Wang et al., *From Rain Generation to Rain Removal*, CVPR 2021).
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.optim import OptimWrapperDict

from mmderain.models.base_models import MultiOptimDerainer
from mmderain.registry import MODELS
from mmderain.utils.imports import quiet_mmagic_import
from .variational_losses import gaussian_kl_to_target, standard_normal_kl
from .vrgnet_generator import VRGNetOfficialInit

with quiet_mmagic_import():
    from mmagic.models.losses import gradient_penalty_loss


@MODELS.register_module()
class ImageCriticInput:
    """What the official critic compares: rainy images ``O`` (real) with
    ``mu_b + G(z)`` (generated).

    The ``critic_input`` of :class:`VRGNet` is a registered callable of this
    form: called with the batch's rainy images ``inputs``, the derainer's
    mean ``mu_b`` (None when the derainer is not run), the rain layers
    ``rain = G(z)`` and the clean images ``gt``, it returns the critic's
    ``(real, fake)`` batches. ``uses_derainer = False`` declares that it
    does not read ``mu_b``; a VRGNet with a frozen derainer
    (``train_derainer=False``) then skips the derainer in training.
    """

    uses_derainer = True

    def __call__(self, inputs: torch.Tensor, mu_b: torch.Tensor,
                 rain: torch.Tensor,
                 gt: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return inputs, mu_b + rain


@MODELS.register_module()
class VRGNet(MultiOptimDerainer):
    """VRGNet: a Bayesian rain generator trained jointly with a derainer.

    A rainy image is ``O = B + R``. The derainer (``generator``, BNet, a
    :class:`~mmderain.models.editors.vrgnet.VariationalPReNet`) predicts the
    posterior ``q(B|O) = N(mu_b, var_b)``; the inference network
    (``rain_encoder``, RNet) predicts ``q(z|O) = N(mu_z, var_z)``; the rain
    generator (``rain_generator``, G) maps a sampled ``z`` to a rain layer;
    a WGAN-GP critic (``critic``, D) makes ``O_hat = mu_b + G(z)`` look like
    real rainy images. Each training iteration (official
    ``train_syn_joint.py``):

    1. critic step: ``L_D = -mean D(O) + mean D(O_hat.detach())
       + gp_weight * GP`` (GP on ``alpha O + (1 - alpha) O_hat`` with one
       ``alpha ~ U(0, 1)`` per sample, gradient norm over all pixels);
    2. every ``n_dis``-th iteration (0, n_dis, 2 n_dis, ...), one backward of
       ``L_G = adv_weight * (-mean D(O_hat)) + KL_z + KL_b`` updates the
       derainer, the encoder and the generator (three optimisers; the
       critic is frozen for this pass). ``KL_b`` is
       :func:`~mmderain.models.editors.vrgnet.gaussian_kl_to_target` with prior
       variance ``prior_var`` and ``KL_z``
       :func:`~mmderain.models.editors.vrgnet.standard_normal_kl`, both element
       means, as coded officially.

    On iterations without a generator step the derainer/encoder/generator
    forward runs without autograd (the official code builds and discards
    those graphs; values are the same). Inference and tests use the
    derainer's mean ``mu_b``, like any :class:`BaseDerainer`.

    Args:
        generator (dict): The variational derainer (BNet) config.
        rain_encoder (dict): The inference network (RNet) config.
        rain_generator (dict): The rain generator (G) config.
        critic (dict): The critic (D) config.
        prior_var (float): Variance ``eps2`` of the background prior.
            Defaults to 1e-6.
        adv_weight (float): Weight of the adversarial term in ``L_G``:
            1 for the synthetic sets, 0.01 for SPA-Data. Defaults to 1.
        gp_weight (float): Gradient-penalty weight. Defaults to 10.
        n_dis (int): Critic steps per generator-side step. Defaults to 5.
        extra_generator_losses (list[dict]): Not official; default none.
            Configs of registered losses added to ``L_G``. Each is called
            on every generator-side step as ``loss(rain=G(z), z=z)`` (``z``
            the encoder's reparametrised codes, with gradient) and returns
            a scalar, weighted already, that is logged under the loss's
            ``loss_name`` (``loss_extra<i>`` without one). The
            diversity-sensitive term of ``projects/vrgnet_rain_generation``
            is one.
        critic_input (dict): A registered choice of what the critic
            compares (see :class:`ImageCriticInput`). Defaults to the
            official ``dict(type='ImageCriticInput')``: rainy images ``O``
            with ``mu_b + G(z)``; ``projects/vrgnet_rain_generation``
            registers rain-layer variants.
        train_derainer (bool): Update the derainer (BNet) in the
            generator-side step. False trains only the encoder, the
            generator and the critic against a fixed, pre-trained derainer
            (e.g. converted official weights loaded with ``load_from``),
            to train a rain generator for augmentation when a derainer
            already exists (not official). BNet's parameters are then
            frozen (no BNet backward), ``KL_b`` is still logged but has no
            gradient, and the ``generator`` optimizer wrapper is not
            needed. Defaults to True.
        train_cfg (dict, optional): Unused by VRGNet itself.
        test_cfg (dict, optional): ``quantize`` as in :class:`BaseDerainer`.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Without one, :meth:`init_weights` applies the official
            initialisation (:class:`~mmderain.models.editors.vrgnet.
            vrgnet_generator.VRGNetOfficialInit`); one replaces it.
        data_preprocessor (dict, optional): Defaults to RGB in [0, 1].
    """

    optim_wrapper_names = ('generator', 'rain', 'critic')
    optim_wrapper_help = (
        'GroupedOptimWrapperConstructor with groups generator, rain '
        '(modules rain_encoder, rain_generator) and critic, as in '
        'configs/_base_/schedules/vrgnet_adam_700e.py')
    #: testing and deraining use the derainer (``mu_b``) only, so a
    #: converted official derainer checkpoint is tested with these configs
    inference_prefixes = ('generator.', )

    def __init__(self,
                 generator: dict,
                 rain_encoder: dict,
                 rain_generator: dict,
                 critic: dict,
                 prior_var: float = 1e-6,
                 adv_weight: float = 1.0,
                 gp_weight: float = 10.0,
                 n_dis: int = 5,
                 extra_generator_losses: Sequence[dict] = (),
                 critic_input: Optional[dict] = None,
                 train_derainer: bool = True,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(
            generator=generator,
            # monitoring only (the official "Derain Loss"): MSE(mu_b, gt)
            pixel_loss=dict(type='MSELoss'),
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
            data_preprocessor=data_preprocessor)
        if n_dis < 1:
            raise ValueError(f'n_dis must be >= 1, got {n_dis}')
        if prior_var <= 0:
            raise ValueError(f'prior_var must be > 0, got {prior_var}')
        self.rain_encoder = MODELS.build(rain_encoder)
        self.rain_generator = MODELS.build(rain_generator)
        self.critic = MODELS.build(critic)
        self.prior_var = prior_var
        self.adv_weight = adv_weight
        self.gp_weight = gp_weight
        self.n_dis = n_dis
        self.train_derainer = train_derainer
        self.critic_input = MODELS.build(
            critic_input or dict(type='ImageCriticInput'))
        self.extra_generator_losses = torch.nn.ModuleList(
            MODELS.build(cfg) for cfg in extra_generator_losses)
        if not train_derainer:
            # no optimizer wrapper needed; under DDP, mmengine's
            # MMSeparateDistributedDataParallel leaves it unwrapped
            self.generator.requires_grad_(False)

    def init_weights(self) -> None:
        """The official initialisation of BNet, RNet and G (N(0, 0.02)
        conv weights; the critic keeps PyTorch's defaults), or ``init_cfg``
        instead when one is given."""
        if not self.init_cfg and not self._is_init:
            VRGNetOfficialInit()(self)
        super().init_weights()

    # ------------------------------------------------------------------ #
    def sample_rain(
            self,
            num: int,
            z: Optional[torch.Tensor] = None,
            generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Rain layers ``G(z)`` for ``z ~ N(0, I)`` (or the given ``z``).

        Args:
            num (int): Number of samples (ignored when ``z`` is given).
            z (Tensor, optional): Latent codes (num, latent_dim).
            generator (torch.Generator, optional): RNG for ``z``.

        Returns:
            Tensor: Rain layers (num, 3, S, S), [0, inf) in image units.
        """
        if z is None:
            dim = self.rain_generator.latent_dim
            device = next(self.rain_generator.parameters()).device
            z = torch.randn(num, dim, generator=generator, device='cpu')
            z = z.to(device)
        return self.rain_generator(z)

    def _skips_derainer(self) -> bool:
        """Whether training runs without the derainer: it is frozen and
        the critic's input does not use it."""
        return not (self.train_derainer or self.critic_input.uses_derainer)

    def _encode(self, inputs: torch.Tensor) -> tuple:
        if self._skips_derainer():
            mu_b = logvar_b = None
        else:
            mu_b, logvar_b = self.generator(inputs, return_logvar=True)
        mu_z, logvar_z = self.rain_encoder(inputs)
        # reparametrisation with the unclamped log-variance, as officially
        z = mu_z + torch.exp(0.5 * logvar_z) * torch.randn_like(mu_z)
        rain = self.rain_generator(z)
        return mu_b, logvar_b, mu_z, logvar_z, z, rain

    def _critic_scores(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One joint iteration: a critic step and, every ``n_dis``-th
        iteration, a generator-side step.

        Args:
            data (dict): A batch from the dataloader (``inputs`` rainy,
                ``data_samples`` with ``gt_img``).
            optim_wrapper (OptimWrapperDict): Wrappers named ``generator``
                (BNet), ``rain`` (RNet and G) and ``critic``, e.g. from
                ``GroupedOptimWrapperConstructor``.

        Returns:
            dict[str, Tensor]: Logged values: ``loss_critic`` (and its parts
            ``loss_d_real``, ``loss_d_fake``, ``loss_gp``), ``mse`` (derainer
            MSE, monitoring), and on generator steps ``loss_g``,
            ``loss_adv``, ``loss_kl_b``, ``loss_kl_z`` (and the extra
            generator-side losses by name). ``mse`` and ``loss_kl_b`` are
            missing when training skips the derainer (a critic input that
            does not use it, with ``train_derainer=False``).
        """
        needed = self._generator_side_wrappers() + ('critic', )
        self.check_optim_wrappers(optim_wrapper, needed)
        data = self.data_preprocessor(data, True)
        inputs = data['inputs']
        gt = data['data_samples'].gt_img
        generator_step = self.current_step() % self.n_dis == 0

        with torch.set_grad_enabled(generator_step):
            mu_b, logvar_b, mu_z, logvar_z, z, rain = self._encode(inputs)
        real, fake = self.critic_input(inputs, mu_b, rain, gt)

        # (1) critic step
        critic_ow = optim_wrapper['critic']
        with critic_ow.optim_context(self.critic):
            d_real = -self._critic_scores(real).mean()
            d_fake = self._critic_scores(fake.detach()).mean()
            gp = gradient_penalty_loss(
                self.critic, real, fake.detach(), norm_mode='HWC')
            loss_critic = d_real + d_fake + self.gp_weight * gp
        critic_ow.update_params(loss_critic)
        log = dict(
            loss_critic=loss_critic.detach(),
            loss_d_real=d_real.detach(),
            loss_d_fake=d_fake.detach(),
            loss_gp=gp.detach())
        if mu_b is not None:
            log.update(mse=self.pixel_loss(mu_b.detach(), gt))

        # (2) derainer + encoder + generator step
        if generator_step:
            kl_z = standard_normal_kl(mu_z, logvar_z)
            with self.no_param_grad(self.critic):
                loss_adv = -self._critic_scores(fake).mean()
            loss_g = self.adv_weight * loss_adv + kl_z
            if mu_b is not None:
                kl_b = gaussian_kl_to_target(mu_b, logvar_b, gt,
                                             self.prior_var)
                loss_g = loss_g + kl_b
                log.update(loss_kl_b=kl_b.detach())
            for i, loss in enumerate(self.extra_generator_losses):
                term = loss(rain=rain, z=z)
                loss_g = loss_g + term
                log[getattr(loss, 'loss_name', f'loss_extra{i}')] = \
                    term.detach()
            self.update_wrappers(optim_wrapper,
                                 self._generator_side_wrappers(), loss_g)
            log.update(
                loss_g=loss_g.detach(),
                loss_adv=loss_adv.detach(),
                loss_kl_z=kl_z.detach())
        return log

    def _generator_side_wrappers(self) -> tuple:
        """Optimizer wrappers stepped by the generator-side pass: BNet's
        (unless frozen) and RNet + G's (one Adam, as officially); the
        critic has a third."""
        if self.train_derainer:
            return ('generator', 'rain')
        return ('rain', )

    def forward_train(self, inputs, data_samples=None, **kwargs):
        """Not used: VRGNet trains through :meth:`train_step`."""
        raise NotImplementedError(
            'VRGNet trains with train_step (several optimisers)')
