# Copyright (c) mmderain contributors. All rights reserved.
"""Make the Rain2Avoid backbone parity fixtures from the OFFICIAL code.

Usage (the official code is read, never copied into this repository)::

    R=/work/.mirror/ytpeng-aimlab+Rain2Avoid-Self-Supervised-Single-Image-\
Deraining-with-Non-local-Stochastic-Sampling/repo
    mkdir -p /tmp/r2a_official
    git -C $R archive HEAD "Rain2Avoid(Single)/network.py" \\
        | tar -x -C /tmp/r2a_official
    OMP_NUM_THREADS=1 python tests/data/make_rain2avoid_unet_fixture.py \\
        /tmp/r2a_official

(commit 22bf3a7075a3484cdcdca903508b7eedcfd30c05; ``network.py`` is the
same in ``Rain2Avoid(Multiple)``; it imports torchvision). It writes, in
``tests/data`` (or ``--out-dir``):

* ``rain2avoid_unet_parity.npz``: the official ``UNet`` built under
  ``torch.manual_seed(SEED)``, its batch norms then set by
  :func:`perturb_batch_norms` (so that a mix-up of BN tensors shows in the
  outputs), saved as an official ``model.pkl`` (:func:`save_model_pkl`:
  ``{'model', 'optimizer', 'scheduler'}`` as ``train_all.py`` writes it)
  and loaded back as ``test_all.py`` does; arrays ``input`` (
  :func:`make_input` of :data:`UNET_INPUT`), ``out_eval`` (``eval()``),
  ``out_train`` (train mode, batch statistics: what ``test_all.py`` runs,
  as it never calls ``eval()``), and the per-tensor checksums of the
  official state dict (``keys``, ``sums``, ``sumsq``: float64 sum and sum
  of squares, in the official key order);
* ``rain2avoid_backbones_parity.npz``: the same (eval outputs only) for the
  official ``ResNet`` (arrays ``resnet_*``, input :data:`RESNET_INPUT`) and
  ``DnCNN`` (``dncnn_*``, :data:`DNCNN_INPUT`).

The tests rebuild these weights without the official code: our modules
create the same layers in the same order with the same default
initialisation, so the same seed and :func:`perturb_batch_norms` give the
same tensors, which the checksums verify. The functions below use torch
only, so the tests import them from this file.
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

#: Seed of the weights (``torch.manual_seed``), of the batch-norm values and
#: of the inputs.
SEED, BN_SEED, INPUT_SEED = 0, 1, 2
#: Input shapes: the UNet needs multiples of 16, the ResNet of 32.
UNET_INPUT = (1, 3, 32, 48)
RESNET_INPUT = (1, 3, 32, 64)
DNCNN_INPUT = (1, 3, 16, 24)
#: The official ``sdrl_all.py`` scheduler arguments (never stepped).
LR_STEPS = [(x + 1) * 100 for x in range(10)]
GAMMA = 0.5

UNET_FIXTURE = 'rain2avoid_unet_parity.npz'
BACKBONES_FIXTURE = 'rain2avoid_backbones_parity.npz'


@torch.no_grad()
def perturb_batch_norms(net: nn.Module) -> None:
    """Give every batch norm of ``net`` non-default, seeded values.

    In ``net.modules()`` order (creation order, the same officially and in
    our modules): weight in [0.5, 1.5), bias N(0, 0.1), running mean
    N(0, 0.1), running variance in [0.5, 1.5), from one generator seeded
    :data:`BN_SEED`.
    """
    gen = torch.Generator().manual_seed(BN_SEED)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)


def make_input(shape) -> torch.Tensor:
    """A seeded (:data:`INPUT_SEED`) uniform [0, 1) image batch."""
    return torch.rand(
        shape, generator=torch.Generator().manual_seed(INPUT_SEED))


def checksums(state_dict) -> dict:
    """Keys, float64 sums and sums of squares of a state dict's tensors."""
    keys = list(state_dict)
    vals = [state_dict[k].double() for k in keys]
    return dict(
        keys=np.array(keys),
        sums=np.array([v.sum().item() for v in vals]),
        sumsq=np.array([(v * v).sum().item() for v in vals]))


def save_model_pkl(net: nn.Module, path: str) -> None:
    """Save ``net`` as the official ``train_all.py`` saves ``model.pkl``.

    An Adam optimiser (lr 1e-3) with its state filled by one step on zero
    gradients (the weights do not change) and the never-stepped
    MultiStepLR of ``sdrl_all.py``.
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, LR_STEPS,
                                                     GAMMA)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    optimizer.zero_grad()
    torch.save(
        {
            'model': net.state_dict(),
            'optimizer': optimizer.state_dict(),
            'scheduler': scheduler.state_dict()
        }, path)


def _official_network(path: str):
    folder = path
    if not osp.isfile(osp.join(folder, 'network.py')):
        folder = osp.join(path, 'Rain2Avoid(Single)')
    spec = importlib.util.spec_from_file_location(
        'r2a_official_network', osp.join(folder, 'network.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@torch.no_grad()
def _outputs(net: nn.Module, x: torch.Tensor, train: bool = False) -> dict:
    # the official UNet.train() returns None: no chaining
    net.eval()
    out = dict(out_eval=net(x).numpy())
    if train:
        net.train()
        out['out_train'] = net(x).numpy()
        net.eval()
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'official',
        help='the official repository, or its Rain2Avoid(Single) folder')
    parser.add_argument(
        '--out-dir', default=osp.dirname(osp.abspath(__file__)))
    args = parser.parse_args(argv)
    network = _official_network(args.official)
    meta = dict(torch=np.array(torch.__version__))

    # UNet: through an official model.pkl, loaded as test_all.py does
    torch.manual_seed(SEED)
    unet = network.UNet()
    perturb_batch_norms(unet)
    with tempfile.TemporaryDirectory() as tmp:
        pkl = osp.join(tmp, 'model.pkl')
        save_model_pkl(unet, pkl)
        unet = network.UNet()
        unet.load_state_dict(torch.load(pkl, weights_only=True)['model'])
    x = make_input(UNET_INPUT)
    fix = dict(input=x.numpy(), **checksums(unet.state_dict()))
    fix.update(_outputs(unet, x, train=True))
    np.savez_compressed(osp.join(args.out_dir, UNET_FIXTURE), **fix, **meta)

    fix = {}
    for name, shape in (('resnet', RESNET_INPUT), ('dncnn', DNCNN_INPUT)):
        torch.manual_seed(SEED)
        net = network.ResNet() if name == 'resnet' else network.DnCNN()
        perturb_batch_norms(net)
        x = make_input(shape)
        parts = dict(input=x.numpy(), **checksums(net.state_dict()))
        parts.update(_outputs(net, x))
        fix.update({f'{name}_{k}': v for k, v in parts.items()})
    np.savez_compressed(
        osp.join(args.out_dir, BACKBONES_FIXTURE), **fix, **meta)
    for name in (UNET_FIXTURE, BACKBONES_FIXTURE):
        path = osp.join(args.out_dir, name)
        print(f'{path}: {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    sys.exit(main())
