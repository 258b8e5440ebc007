# Copyright (c) mmderain contributors. All rights reserved.
"""Train VRGNet with PyTorch alone, where the OpenMMLab stack is missing.

The same joint iteration as :meth:`mmderain.models.VRGNet.train_step` (a
WGAN-GP critic step every iteration, a derainer + encoder + generator step
every ``--n-dis``-th; the official objective), written as a plain loop over
mmderain's own networks and losses. It exists for machines that have
PyTorch but not mmengine/mmcv/mmagic, such as a bare GPU box: when
``mmagic`` cannot be imported, the networks are imported without the
registry (:func:`import_without_openmmlab`). Everywhere else, use
``tools/train.py configs/vrgnet/...``: checkpoints, resuming, logging,
hooks and DDP come with it. ``tests/test_tools/test_vrgnet_train_plain.py``
checks this loop iteration for iteration against ``VRGNet.train_step``.

Data: ``--data ROOT`` with ``ROOT/rain`` and ``ROOT/norain`` (same file
names; any format OpenCV reads), loaded once onto the device; each batch
draws images without replacement (reshuffled every epoch) and one random
aligned ``--patch`` crop per image, as the VRGNet configs do.

Writes, under ``--work-dir``:

* ``iter_<N>.pth``: ``{'state_dict': {'<sub-network>.<key>': ...},
  'meta': {...}}`` with the sub-networks named by ``--save`` (keys as in a
  ``tools/train.py`` checkpoint, so ``tools/vrgnet/rain_stats.py``,
  ``tools/vrgnet/generate.py`` and ``RainAugmentHook`` read it);
* ``log.json``: the arguments, losses averaged over every
  ``--log-interval`` iterations, and at every snapshot the
  :func:`~mmderain.apis.rain_generation.rain_layer_statistics` of
  ``G(z)`` (``--num-samples`` codes seeded as in ``rain_stats.py``) and of
  real rain layers of the training data;
* ``samples.npz``: the first ``--show`` of those layers at every snapshot
  (``iters``, ``samples``: (S, show, 3, H, W) float16, ``real``).

Training stops after ``--max-iters`` iterations or ``--time-limit``
seconds, whichever comes first; ``--snapshots`` snapshots are spread evenly
over that budget (the last at the end).

Example (the warm-started Kaiming recipe of
``configs/vrgnet/vrgnet-warm-kaiming_b8-p64-3k_rain100l.py``, batch 18)::

    python tools/vrgnet/train_plain.py --data ../shared/data/rain100l/train \\
        --work-dir work_dirs/plain_warm_kaiming --device cuda \\
        --load-from work_dirs/converted/vrgnet-derainer_syn100l.pth \\
        --kaiming rain_generator --n-dis 2 --lr-rain 2e-4 \\
        --betas-rain 0.5 0.999 --betas-critic 0.5 0.999 --time-limit 600
"""
import argparse
import importlib
import json
import math
import os
import os.path as osp
import sys
import time
import types
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: The sub-networks, named as in VRGNet (and its checkpoints).
SUBNETWORKS = ('generator', 'rain_encoder', 'rain_generator', 'critic')
#: What the generator-side step updates, as ``VRGNet``'s ``official_init``.
GENERATOR_SIDE = ('generator', 'rain_encoder', 'rain_generator')
#: ``VRGNet``'s ``critic_input`` choices (a test checks they agree).
CRITIC_INPUTS = ('image', 'rain', 'gt_rain')
LOSS_KEYS = ('loss_critic', 'loss_d_real', 'loss_d_fake', 'loss_gp', 'mse',
             'loss_g', 'loss_adv', 'loss_kl_b', 'loss_kl_z', 'loss_div')


class _Unregistered:
    """Stands in for a registry: ``@register_module()`` returns the class
    unchanged."""

    def register_module(self, name=None, force=False, module=None):
        return module if module is not None else (lambda cls: cls)


def import_without_openmmlab() -> None:
    """Make mmderain's networks, losses and rain statistics importable
    without mmengine/mmcv/mmagic.

    ``mmderain.registry`` (built on mmagic's registries) is replaced by a
    stand-in whose ``register_module`` is a no-op, and the packages
    ``mmderain.models`` and ``mmderain.apis`` are entered without running
    their ``__init__`` (which import the derainers, data preprocessors and
    runners that need the stack). Their modules that need PyTorch only
    (``mmderain.models.archs.*``, ``mmderain.models.losses.*``,
    ``mmderain.ops``, ``mmderain.apis.rain_generation``) then import as
    usual. Call it before importing any of them, only in a process without
    the stack: the real registry is not available afterwards.
    """
    registry = types.ModuleType('mmderain.registry')
    registry.MODELS = _Unregistered()
    sys.modules['mmderain.registry'] = registry
    importlib.import_module('mmderain')
    for name in ('mmderain.models', 'mmderain.apis'):
        package = types.ModuleType(name)
        package.__path__ = [osp.join(ROOT, *name.split('.'))]
        sys.modules[name] = package


def _stack_available() -> bool:
    try:
        importlib.import_module('mmagic')
    except ImportError:
        return False
    return True


def build_networks(latent_dim: int = 128,
                   base_channels: int = 32,
                   image_size: int = 64,
                   critic_channels: int = 64,
                   num_stages: int = 6,
                   derainer_channels: int = 32,
                   num_res_blocks: int = 5) -> Dict[str, nn.Module]:
    """The four VRGNet sub-networks, as configured in
    ``configs/_base_/models/vrgnet.py`` by default, with PyTorch's default
    initialisation (see :func:`initialise`)."""
    from mmderain.models.archs.sagan_critic import SAGANCritic
    from mmderain.models.archs.variational_prenet import VariationalPReNet
    from mmderain.models.archs.vrgnet_encoder import RainEncoder
    from mmderain.models.archs.vrgnet_generator import RainGenerator
    return dict(
        generator=VariationalPReNet(
            num_stages=num_stages,
            mid_channels=derainer_channels,
            num_res_blocks=num_res_blocks),
        rain_encoder=RainEncoder(
            latent_dim=latent_dim,
            base_channels=base_channels,
            image_size=image_size),
        rain_generator=RainGenerator(
            latent_dim=latent_dim,
            base_channels=base_channels,
            image_size=image_size),
        critic=SAGANCritic(image_size=image_size, conv_dim=critic_channels))


def initialise(nets: Dict[str, nn.Module],
               kaiming: Sequence[str] = (),
               grey: bool = False) -> None:
    """VRGNet's ``init_weights``: official N(0, 0.02) convolutions for the
    generator-side networks, Kaiming-normal for those named in
    ``kaiming``, and with ``grey`` the generator's output channels tied
    (``grey_init``); the critic keeps PyTorch's defaults."""
    from mmderain.models.archs.vrgnet_generator import init_vrgnet_networks
    official = [n for n in GENERATOR_SIDE if n not in kaiming]
    init_vrgnet_networks(nets, official, kaiming, grey)


def gradient_penalty(critic: nn.Module, real: torch.Tensor,
                     fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty ``mean((||grad D(x_hat)|| - 1)^2)``, the norm over
    all of a sample's pixels, ``x_hat = a real + (1 - a) fake`` with one
    ``a ~ U(0, 1)`` per sample drawn from the CPU generator (as mmagic's
    ``gradient_penalty_loss(..., norm_mode='HWC')`` used by VRGNet)."""
    alpha = torch.rand(real.size(0), 1, 1, 1).to(real)
    x = (alpha * real + (1. - alpha) * fake).requires_grad_(True)
    scores = critic(x)
    grad = torch.autograd.grad(
        scores, x, torch.ones_like(scores), create_graph=True)[0]
    return ((grad.reshape(real.size(0), -1).norm(2, dim=1) - 1)**2).mean()


class PlainVRGNet:
    """VRGNet's joint iteration over plain optimisers.

    Args:
        nets (dict[str, nn.Module]): :data:`SUBNETWORKS`.
        optimizers (dict[str, Optimizer]): ``generator`` (BNet; omitted
            when ``train_derainer`` is False), ``rain`` (encoder and
            generator) and ``critic``.
        n_dis, adv_weight, gp_weight, prior_var, train_derainer,
        critic_input, diversity_weight, diversity_tau,
        diversity_normalize: As in
            :class:`~mmderain.models.VRGNet`.
    """

    def __init__(self,
                 nets: Dict[str, nn.Module],
                 optimizers: Dict[str, torch.optim.Optimizer],
                 n_dis: int = 5,
                 adv_weight: float = 1.0,
                 gp_weight: float = 10.0,
                 prior_var: float = 1e-6,
                 train_derainer: bool = True,
                 critic_input: str = 'image',
                 diversity_weight: float = 0.0,
                 diversity_tau: float = 0.035,
                 diversity_normalize: bool = False) -> None:
        if critic_input not in CRITIC_INPUTS:
            raise ValueError(f'critic_input must be one of {CRITIC_INPUTS}, '
                             f'got {critic_input!r}')
        self.nets = nets
        self.optimizers = optimizers
        self.n_dis = n_dis
        self.adv_weight = adv_weight
        self.gp_weight = gp_weight
        self.prior_var = prior_var
        self.critic_input = critic_input
        self.diversity_weight = diversity_weight
        self.diversity_tau = diversity_tau
        self.diversity_normalize = diversity_normalize
        self.skip_derainer = critic_input == 'gt_rain' and not train_derainer
        self.generator_side = (('generator', 'rain') if train_derainer else
                               ('rain', ))
        if not train_derainer:
            nets['generator'].requires_grad_(False)

    def step(self, rainy: torch.Tensor, clean: torch.Tensor,
             iteration: int) -> Dict[str, torch.Tensor]:
        """One iteration on images in [0, 1] (N, 3, H, W), RGB; returns the
        values ``VRGNet.train_step`` logs (detached tensors)."""
        from mmderain.models.losses.diversity_loss import \
            diversity_sensitive_loss
        from mmderain.models.losses.variational_losses import (
            gaussian_kl_to_target, standard_normal_kl)
        nets, opts = self.nets, self.optimizers
        critic = nets['critic']
        generator_step = iteration % self.n_dis == 0
        with torch.set_grad_enabled(generator_step):
            mu_b = logvar_b = None
            if not self.skip_derainer:
                mu_b, logvar_b = nets['generator'](rainy, return_logvar=True)
            mu_z, logvar_z = nets['rain_encoder'](rainy)
            z = mu_z + torch.exp(0.5 * logvar_z) * torch.randn_like(mu_z)
            rain = nets['rain_generator'](z)
        if self.critic_input == 'image':
            real, fake = rainy, mu_b + rain
        elif self.critic_input == 'rain':
            real, fake = (rainy - mu_b.detach()).clamp(min=0), rain
        else:
            real, fake = (rainy - clean).clamp(min=0), rain

        d_real = -critic(real).mean()
        d_fake = critic(fake.detach()).mean()
        gp = gradient_penalty(critic, real, fake.detach())
        loss_critic = d_real + d_fake + self.gp_weight * gp
        loss_critic.backward()
        opts['critic'].step()
        opts['critic'].zero_grad()
        log = dict(
            loss_critic=loss_critic.detach(),
            loss_d_real=d_real.detach(),
            loss_d_fake=d_fake.detach(),
            loss_gp=gp.detach())
        if mu_b is not None:
            log.update(mse=nn.functional.mse_loss(mu_b.detach(), clean))
        if not generator_step:
            return log
        kl_z = standard_normal_kl(mu_z, logvar_z)
        critic.requires_grad_(False)
        try:
            loss_adv = -critic(fake).mean()
        finally:
            critic.requires_grad_(True)
        loss_g = self.adv_weight * loss_adv + kl_z
        if mu_b is not None:
            kl_b = gaussian_kl_to_target(mu_b, logvar_b, clean,
                                         self.prior_var)
            loss_g = loss_g + kl_b
            log.update(loss_kl_b=kl_b.detach())
        if self.diversity_weight:
            loss_div = diversity_sensitive_loss(rain, z.detach(),
                                                self.diversity_tau,
                                                self.diversity_normalize)
            loss_g = loss_g + self.diversity_weight * loss_div
            log.update(loss_div=loss_div.detach())
        loss_g.backward()
        for name in self.generator_side:
            opts[name].step()
            opts[name].zero_grad()
        log.update(
            loss_g=loss_g.detach(),
            loss_adv=loss_adv.detach(),
            loss_kl_z=kl_z.detach())
        return log


def make_optimizers(nets: Dict[str, nn.Module],
                    lr_derainer: float = 2e-4,
                    lr_rain: float = 1e-4,
                    lr_critic: float = 4e-4,
                    betas_derainer: Sequence[float] = (0.9, 0.999),
                    betas_rain: Sequence[float] = (0.9, 0.999),
                    betas_critic: Sequence[float] = (0.9, 0.999),
                    train_derainer: bool = True
                    ) -> Dict[str, torch.optim.Optimizer]:
    """The three Adam optimisers of
    ``configs/_base_/schedules/vrgnet_adam_700e.py``."""
    rain = (list(nets['rain_encoder'].parameters()) +
            list(nets['rain_generator'].parameters()))
    opts = dict(
        rain=torch.optim.Adam(rain, lr=lr_rain, betas=tuple(betas_rain)),
        critic=torch.optim.Adam(
            nets['critic'].parameters(),
            lr=lr_critic,
            betas=tuple(betas_critic)))
    if train_derainer:
        opts['generator'] = torch.optim.Adam(
            nets['generator'].parameters(),
            lr=lr_derainer,
            betas=tuple(betas_derainer))
    return opts


def paired_names(root: str, option: str) -> tuple:
    """The rainy/clean pairs of ``root`` (``rain/`` and ``norain/``, same
    file names): ``(rain_dir, clean_dir, sorted names)``.

    Raises:
        FileNotFoundError: Naming ``option`` (the command-line option that
            gave ``root``) if a folder is missing or empty, or clean images
            are missing.
    """
    rain_dir, clean_dir = osp.join(root, 'rain'), osp.join(root, 'norain')
    for d in (rain_dir, clean_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(
                f'{d} not found: {option} needs ROOT/rain and ROOT/norain')
    names = sorted(os.listdir(rain_dir))
    missing = [n for n in names if not osp.isfile(osp.join(clean_dir, n))]
    if not names or missing:
        raise FileNotFoundError(
            f'{clean_dir} lacks the clean images of {missing[:3]}'
            if missing else f'{rain_dir} is empty')
    return rain_dir, clean_dir, names


class PairedPatches:
    """Random aligned crops of rainy/clean pairs held on one device.

    Args:
        root (str): Folder with ``rain/`` and ``norain/`` (same names).
        patch (int): Crop size.
        device (str): Where the images live.
        seed (int): Seed of the sampling.
    """

    def __init__(self, root: str, patch: int, device: str,
                 seed: int = 0) -> None:
        import cv2
        rain_dir, clean_dir, names = paired_names(root, '--data')
        self.pairs = []
        for name in names:
            imgs = []
            for d in (rain_dir, clean_dir):
                path = osp.join(d, name)
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                if img is None:
                    raise FileNotFoundError(f'{path}: not an image')
                imgs.append(
                    torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1))
            if imgs[0].shape != imgs[1].shape:
                raise ValueError(f'{name}: rainy {tuple(imgs[0].shape)} and '
                                 f'clean {tuple(imgs[1].shape)} differ')
            if min(imgs[0].shape[1:]) < patch:
                raise ValueError(f'{name}: smaller than the {patch}-px patch')
            self.pairs.append(torch.stack(imgs).to(device))
        self.patch = patch
        self.rng = np.random.default_rng(seed)
        self._order: List[int] = []

    def __len__(self) -> int:
        return len(self.pairs)

    def batch(self, size: int) -> tuple:
        """``size`` crops: rainy and clean (size, 3, patch, patch) in
        [0, 1], float32."""
        crops = []
        for _ in range(size):
            if not self._order:
                self._order = list(self.rng.permutation(len(self.pairs)))
            pair = self.pairs[self._order.pop()]
            top = int(self.rng.integers(pair.shape[2] - self.patch + 1))
            left = int(self.rng.integers(pair.shape[3] - self.patch + 1))
            crops.append(pair[:, :, top:top + self.patch,
                              left:left + self.patch])
        both = torch.stack(crops, 1).float() / 255.
        return both[0], both[1]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='VRGNet joint training in plain PyTorch.')
    parser.add_argument('--data', required=True,
                        help='folder with rain/ and norain/')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--batch-size', type=int, default=18)
    parser.add_argument('--patch', type=int, default=64)
    parser.add_argument('--max-iters', type=int, default=2_100_000)
    parser.add_argument('--time-limit', type=float, default=math.inf,
                        help='seconds of training')
    parser.add_argument('--n-dis', type=int, default=5)
    parser.add_argument('--adv-weight', type=float, default=1.0)
    parser.add_argument('--lr-derainer', type=float, default=2e-4)
    parser.add_argument('--lr-rain', type=float, default=1e-4)
    parser.add_argument('--lr-critic', type=float, default=4e-4)
    parser.add_argument('--betas-rain', type=float, nargs=2,
                        default=(0.9, 0.999))
    parser.add_argument('--betas-critic', type=float, nargs=2,
                        default=(0.9, 0.999))
    parser.add_argument(
        '--kaiming', nargs='*', default=[], choices=GENERATOR_SIDE,
        help='sub-networks initialised Kaiming-normal (not official)')
    parser.add_argument(
        '--grey-init', action='store_true',
        help="tie the generator's R, G and B output filters at "
        'initialisation (grey_init, not official)')
    parser.add_argument(
        '--load-from',
        help='checkpoint whose <sub-network>.* weights are loaded after '
        'initialisation, e.g. the converted official derainer')
    parser.add_argument('--fixed-derainer', action='store_true',
                        help='train_derainer=False (not official)')
    parser.add_argument('--critic-input', default='image',
                        choices=CRITIC_INPUTS)
    parser.add_argument(
        '--diversity-weight', type=float, default=0.0,
        help='weight of the diversity-sensitive term (not official)')
    parser.add_argument('--diversity-tau', type=float, default=0.035)
    parser.add_argument(
        '--diversity-normalize', action='store_true',
        help='divide rain layers by their mean in the diversity term')
    parser.add_argument('--log-interval', type=int, default=200)
    parser.add_argument('--snapshots', type=int, default=6)
    parser.add_argument('--num-samples', type=int, default=64,
                        help='codes per rain statistic')
    parser.add_argument('--show', type=int, default=8,
                        help='layers per snapshot kept in samples.npz')
    parser.add_argument(
        '--save', nargs='+', default=list(SUBNETWORKS), choices=SUBNETWORKS,
        help='sub-networks written to the final checkpoint')
    args = parser.parse_args(argv)
    if args.n_dis < 1:
        parser.error(f'--n-dis must be >= 1, got {args.n_dis}')
    return args


def load_weights(nets: Dict[str, nn.Module], path: str) -> List[str]:
    """Load every ``<sub-network>.*`` group found in a checkpoint; returns
    the names loaded."""
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt)
    loaded = []
    for name, net in nets.items():
        prefix = name + '.'
        part = {
            k[len(prefix):]: v
            for k, v in state.items() if k.startswith(prefix)
        }
        if part:
            net.load_state_dict(part, strict=True)
            loaded.append(name)
    if not loaded:
        raise KeyError(f'{path} holds no weights of {list(nets)}')
    return loaded


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns the log written to ``log.json``."""
    args = parse_args(argv)
    if not _stack_available():
        import_without_openmmlab()
    from mmderain.apis.rain_generation import (generate_rain,
                                               rain_layer_statistics,
                                               real_rain_layers)
    torch.manual_seed(args.seed)
    device = args.device
    torch.backends.cudnn.benchmark = True  # fixed patch and batch sizes
    nets = build_networks(image_size=args.patch)
    initialise(nets, args.kaiming, args.grey_init)
    loaded = load_weights(nets, args.load_from) if args.load_from else []
    for net in nets.values():
        net.to(device).train()
    train_derainer = not args.fixed_derainer
    trainer = PlainVRGNet(
        nets,
        make_optimizers(
            nets,
            args.lr_derainer,
            args.lr_rain,
            args.lr_critic,
            betas_rain=args.betas_rain,
            betas_critic=args.betas_critic,
            train_derainer=train_derainer),
        n_dis=args.n_dis,
        adv_weight=args.adv_weight,
        train_derainer=train_derainer,
        critic_input=args.critic_input,
        diversity_weight=args.diversity_weight,
        diversity_tau=args.diversity_tau,
        diversity_normalize=args.diversity_normalize)
    data = PairedPatches(args.data, args.patch, device, args.seed)
    real = torch.cat([
        real_rain_layers(*data.batch(1)).cpu()
        for _ in range(args.num_samples)
    ])
    os.makedirs(args.work_dir, exist_ok=True)
    log = dict(
        args=vars(args),
        loaded=loaded,
        num_images=len(data),
        real=rain_layer_statistics(real),
        losses=[],
        snapshots=[])
    shown, shown_iters = [], []

    def snapshot(iteration: int, elapsed: float) -> None:
        gen = nets['rain_generator'].eval()
        rain = generate_rain(gen, args.num_samples, seed=args.seed).cpu()
        gen.train()
        stats = rain_layer_statistics(rain)
        log['snapshots'].append(
            dict(iter=iteration, seconds=round(elapsed, 1), **stats))
        shown.append(rain[:args.show].half().numpy())
        shown_iters.append(iteration)
        print(f'snapshot iter {iteration}: ' +
              ', '.join(f'{k} {v:.4f}' for k, v in stats.items()),
              flush=True)

    sums = {k: torch.zeros((), device=device) for k in LOSS_KEYS}
    counts = dict.fromkeys(LOSS_KEYS, 0)
    next_snap = 1
    start = time.time()
    iteration = 0
    while iteration < args.max_iters:
        elapsed = time.time() - start
        if elapsed >= args.time_limit:
            break
        rainy, clean = data.batch(args.batch_size)
        values = trainer.step(rainy, clean, iteration)
        iteration += 1
        for k, v in values.items():
            sums[k] += v
            counts[k] += 1
        if iteration % args.log_interval == 0:
            entry = dict(iter=iteration, seconds=round(elapsed, 1))
            entry.update({
                k: sums[k].item() / counts[k]
                for k in LOSS_KEYS if counts[k]
            })
            log['losses'].append(entry)
            print(json.dumps(entry), flush=True)
            sums = {k: torch.zeros((), device=device) for k in LOSS_KEYS}
            counts = dict.fromkeys(LOSS_KEYS, 0)
        progress = max(iteration / args.max_iters,
                       (time.time() - start) / args.time_limit)
        if (next_snap < args.snapshots
                and progress >= next_snap / args.snapshots):
            snapshot(iteration, time.time() - start)
            next_snap += 1
    if not shown_iters or shown_iters[-1] != iteration:
        snapshot(iteration, time.time() - start)
    log['iters'] = iteration
    log['seconds'] = round(time.time() - start, 1)
    state = {
        f'{name}.{k}': v.detach().cpu()
        for name in args.save
        for k, v in nets[name].state_dict().items()
    }
    ckpt_path = osp.join(args.work_dir, f'iter_{iteration}.pth')
    tmp = ckpt_path + '.tmp'
    torch.save(
        dict(
            state_dict=state,
            meta=dict(iter=iteration, tool='tools/vrgnet/train_plain.py')),
        tmp)
    os.replace(tmp, ckpt_path)
    np.savez(
        osp.join(args.work_dir, 'samples.npz'),
        iters=np.array(shown_iters),
        samples=np.stack(shown),
        real=real[:args.show].half().numpy())
    with open(osp.join(args.work_dir, 'log.json'), 'w') as f:
        json.dump(log, f, indent=1)
    print(f'{iteration} iterations in {log["seconds"]} s; wrote {ckpt_path}')
    return log


if __name__ == '__main__':
    main()
