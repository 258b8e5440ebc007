# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet joint training: variational derainer, rain encoder, generator,
critic (Wang et al., *From Rain Generation to Rain Removal*, CVPR 2021).
"""
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.optim import OptimWrapperDict

from mmderain.models.base_models import MultiOptimDerainer
from mmderain.registry import MODELS
from mmderain.utils.imports import quiet_mmagic_import
from .diversity_loss import diversity_sensitive_loss
from .variational_losses import gaussian_kl_to_target, standard_normal_kl
from .vrgnet_generator import init_vrgnet_networks

with quiet_mmagic_import():
    from mmagic.models.losses import gradient_penalty_loss

#: The sub-networks updated by the generator-side step, in the order their
#: optimisers step (one backward pass feeds all three).
GENERATOR_SIDE = ('generator', 'rain_encoder', 'rain_generator')
#: What the critic may compare (``critic_input``): rainy images (official),
#: the derainer's rain estimates, or the pairs' ground-truth rain layers.
CRITIC_INPUTS = ('image', 'rain', 'gt_rain')


@MODELS.register_module()
class VRGNet(MultiOptimDerainer):
    """VRGNet: a Bayesian rain generator trained jointly with a derainer.

    A rainy image is ``O = B + R``. The derainer (``generator``, BNet, a
    :class:`~mmderain.models.archs.VariationalPReNet`) predicts the
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
       :func:`~mmderain.models.losses.gaussian_kl_to_target` with prior
       variance ``prior_var`` and ``KL_z``
       :func:`~mmderain.models.losses.standard_normal_kl`, both element
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
        official_init (bool | Sequence[str]): Apply the official
            ``weights_init`` (:func:`~mmderain.models.archs.
            vrgnet_weights_init`: N(0, 0.02) conv weights) in
            :meth:`init_weights` to the derainer, encoder and generator
            (True), to none of them (False) or to the named ones among
            ``'generator'``, ``'rain_encoder'``, ``'rain_generator'``.
            Defaults to True.
        kaiming_init (Sequence[str]): Sub-networks among the same three
            whose (transposed) convolution weights get a Kaiming-normal
            initialisation (:func:`~mmderain.models.archs.
            vrgnet_kaiming_init`, He et al. for ReLU) instead. Not
            official: it lets the generator's output depend on ``z`` from
            the first iteration (see ``configs/vrgnet/README.md``).
            Defaults to ().
        grey_init (bool): After initialisation, give the generator's last
            transposed convolution the same filter for R, G and B
            (:func:`~mmderain.models.archs.tie_output_channels`), so that
            its first samples are grey like real rain. Not official.
            Defaults to False.
        train_derainer (bool): Update the derainer (BNet) in the
            generator-side step. False trains only the encoder, the
            generator and the critic against a fixed, pre-trained derainer
            (e.g. converted official weights loaded with ``load_from``):
            BNet's parameters are frozen (``requires_grad`` False, so no
            BNet graph or backward pass), ``KL_b`` is
            still logged but has no gradient, and the ``generator``
            optimizer wrapper is not needed. Not official; for training a
            rain generator for augmentation when a derainer already
            exists. Defaults to True.
        critic_input (str): What the critic compares. ``'image'``
            (official): rainy images ``O`` with ``mu_b + G(z)``.
            ``'rain'`` (not official): rain layers, the derainer's estimate
            ``max(O - mu_b, 0)`` (no gradient) with ``G(z)``; the rain is
            then not hidden under the background, which the critic
            otherwise has to see through, and the derainer learns from
            ``KL_b`` only. ``'gt_rain'`` (not official): the ground-truth
            rain layers of the synthetic pairs, ``max(O - B, 0)``, with
            ``G(z)``; with ``train_derainer=False`` the derainer is then not
            run at all in training (no ``mse`` or ``KL_b`` is logged): on
            our 2-core CPU its forward pass over a batch of 8 64x64 patches
            takes 0.37 s, a critic step 0.23 s. Defaults to 'image'.
        diversity_weight (float): Not official. Weight of the
            diversity-sensitive term (Yang et al., ICLR 2019;
            :func:`~mmderain.models.editors.vrgnet.diversity_loss.diversity_sensitive_loss`)
            added to the generator-side loss: ``-min(mean|G(z_a) - G(z_b)|
            / mean|z_a - z_b|, diversity_tau)`` over the two halves of the
            batch, against a generator that makes the same rain for every
            code. Logged as ``loss_div``. Defaults to 0 (off, official).
        diversity_tau (float): Clip of that ratio. Defaults to 0.035, about
            the ratio of real Rain100L rain layers: two 64x64 layers
            ``max(O - B, 0)`` differ by 0.041 on average, two N(0, I) codes
            by 2 / sqrt(pi) = 1.13.
        diversity_normalize (bool): Not official. Divide each rain layer by
            its mean before the ratio (:func:`~mmderain.models.losses.
            diversity_loss.diversity_ratio` with ``normalize=True``), so
            that layers that differ only in strength count as equal and the
            generator must vary where its rain is. Real Rain100L rain
            layers then give a ratio of about 1.49 (use ``diversity_tau``
            1.4). Defaults to False.
        test_cfg (dict, optional): ``quantize`` as in :class:`BaseDerainer`.
        init_cfg (dict, optional): Initialisation config.
        data_preprocessor (dict, optional): Defaults to RGB in [0, 1].
    """

    optim_wrapper_names = ('generator', 'rain', 'critic')
    optim_wrapper_help = (
        'GroupedOptimWrapperConstructor with groups generator, rain '
        '(modules rain_encoder, rain_generator) and critic, as in '
        'configs/_base_/schedules/vrgnet_adam_700e.py')

    def __init__(self,
                 generator: dict,
                 rain_encoder: dict,
                 rain_generator: dict,
                 critic: dict,
                 prior_var: float = 1e-6,
                 adv_weight: float = 1.0,
                 gp_weight: float = 10.0,
                 n_dis: int = 5,
                 official_init: Union[bool, Sequence[str]] = True,
                 kaiming_init: Sequence[str] = (),
                 grey_init: bool = False,
                 train_derainer: bool = True,
                 critic_input: str = 'image',
                 diversity_weight: float = 0.0,
                 diversity_tau: float = 0.035,
                 diversity_normalize: bool = False,
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
        if critic_input not in CRITIC_INPUTS:
            raise ValueError(
                f'critic_input must be one of {CRITIC_INPUTS}, got '
                f'{critic_input!r}')
        self.critic_input = critic_input
        if diversity_weight < 0 or diversity_tau <= 0:
            raise ValueError(
                'diversity_weight must be >= 0 and diversity_tau > 0, got '
                f'{diversity_weight} and {diversity_tau}')
        self.diversity_weight = diversity_weight
        self.diversity_tau = diversity_tau
        self.diversity_normalize = diversity_normalize
        if not train_derainer:
            # no optimizer wrapper needed; under DDP, mmengine's
            # MMSeparateDistributedDataParallel leaves it unwrapped
            self.generator.requires_grad_(False)
        if isinstance(official_init, bool):
            official_init = GENERATOR_SIDE if official_init else ()
        self.official_init = tuple(official_init)
        self.kaiming_init = tuple(kaiming_init)
        self.grey_init = grey_init
        for key, names in (('official_init', self.official_init),
                           ('kaiming_init', self.kaiming_init)):
            unknown = [n for n in names if n not in GENERATOR_SIDE]
            if unknown:
                raise ValueError(
                    f'{key}: unknown sub-networks {unknown}, expected names '
                    f'from {GENERATOR_SIDE}')
        both = set(self.official_init) & set(self.kaiming_init)
        if both:
            raise ValueError(
                f'{sorted(both)} in both official_init and kaiming_init')

    def init_weights(self) -> None:
        """Official (or Kaiming) initialisation of BNet, RNet and G (the
        critic keeps PyTorch's defaults), after any ``init_cfg``."""
        super().init_weights()
        init_vrgnet_networks({n: getattr(self, n)
                              for n in GENERATOR_SIDE}, self.official_init,
                             self.kaiming_init, self.grey_init)

    # ------------------------------------------------------------------ #
    def sample_rain(self, num: int, z: Optional[torch.Tensor] = None,
                    generator: Optional[torch.Generator] = None
                    ) -> torch.Tensor:
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
        the critic compares ground-truth rain layers."""
        return self.critic_input == 'gt_rain' and not self.train_derainer

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
            ``loss_adv``, ``loss_kl_b``, ``loss_kl_z`` (and ``loss_div``
            with the diversity term on). ``mse`` and ``loss_kl_b`` are
            missing when training skips the derainer (``critic_input=
            'gt_rain'`` with ``train_derainer=False``).
        """
        needed = self._generator_side_wrappers() + ('critic', )
        self.check_optim_wrappers(optim_wrapper, needed)
        data = self.data_preprocessor(data, True)
        inputs = data['inputs']
        gt = data['data_samples'].gt_img
        generator_step = self.current_step() % self.n_dis == 0

        with torch.set_grad_enabled(generator_step):
            mu_b, logvar_b, mu_z, logvar_z, z, rain = self._encode(inputs)
        if self.critic_input == 'image':
            real, fake = inputs, mu_b + rain
        elif self.critic_input == 'rain':
            real, fake = (inputs - mu_b.detach()).clamp(min=0), rain
        else:
            real, fake = (inputs - gt).clamp(min=0), rain

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
            trainable = [
                p for p in self.critic.parameters() if p.requires_grad
            ]
            for p in trainable:
                p.requires_grad_(False)
            try:
                loss_adv = -self._critic_scores(fake).mean()
            finally:
                for p in trainable:
                    p.requires_grad_(True)
            loss_g = self.adv_weight * loss_adv + kl_z
            if mu_b is not None:
                kl_b = gaussian_kl_to_target(mu_b, logvar_b, gt,
                                             self.prior_var)
                loss_g = loss_g + kl_b
                log.update(loss_kl_b=kl_b.detach())
            if self.diversity_weight:
                # codes without gradient: RNet must not raise the ratio by
                # moving codes closer together
                loss_div = diversity_sensitive_loss(rain, z.detach(),
                                                    self.diversity_tau,
                                                    self.diversity_normalize)
                loss_g = loss_g + self.diversity_weight * loss_div
                log.update(loss_div=loss_div.detach())
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
