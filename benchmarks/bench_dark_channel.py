# Copyright (c) mmderain contributors. All rights reserved.
"""Dark-channel loss: SSID-KD's MaxPool3d ``DCLoss`` vs ours (CPU).

SSID-KD's student adds ``1e-6 * DCLoss((x + 1) / 2, 128)`` for its
synthetic and its real batch (``Loss/ECLoss.py``): a ``MaxPool3d`` with a
3 x 128 x 128 window at stride 1, ``O(3 P^2)`` per output.
:class:`~mmderain.models.losses.DarkChannelLoss` (``mode='official'``)
computes the same loss with the separable running maximum of
:func:`mmderain.ops.max_filter`, ``O(1)`` per pixel and axis.

Both run in this process on the same batch (``--batch`` crops of
``--size``, 8-bit values like real images, seeded): ``official`` is a CPU
re-statement of ``DCLoss`` (``nn.MaxPool3d``, ``L1Loss(reduction='sum')``
against zeros, negated; no ``.cuda()``), called on ``(x + 1) / 2`` as the
training scripts do. The losses and the input gradients are checked to be
bit-equal (``torch.equal``) first; then forward (no autograd) and forward
+ backward are timed, the calls interleaved: the median (min-max) of
``--repeats`` runs of each, after ``--warmup`` untimed ones.

Ours is some 70 small tensor operations, max pooling a few large ones: on
a machine shared with other jobs every multi-threaded operation waits for
a descheduled worker thread, which costs ours far more than max pooling;
compare with ``--threads 1`` there, or on an idle machine.

Example::

    python benchmarks/bench_dark_channel.py --threads 2
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from benchmarks._timing import time_alternately  # noqa: E402
from mmderain.models.losses import DarkChannelLoss  # noqa: E402


def official_dc_loss(img: torch.Tensor, patch_size: int) -> torch.Tensor:
    """CPU re-statement of SSID-KD's ``Loss/ECLoss.DCLoss(img, P)``."""
    maxpool = nn.MaxPool3d((3, patch_size, patch_size),
                           stride=1,
                           padding=(0, patch_size // 2, patch_size // 2))
    dc = maxpool(1 - img[:, None, :, :, :])
    target = torch.zeros(dc.shape, dtype=dc.dtype)
    return -nn.L1Loss(reduction='sum')(dc, target)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers.

    Returns:
        dict: ``loss`` (the common value), ``runs``, the seconds per call
        ``{mode}_{name}_s`` (median), ``..._s_min`` and ``..._s_max`` for
        ``mode`` in ``fwd``, ``fwd_bwd`` and ``name`` in ``official``,
        ``ours``, and the ratios ``{mode}_official_over_ours`` (medians).

    Raises:
        AssertionError: If the losses or the gradients are not bit-equal.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(128, 128),
        metavar=('H', 'W'),
        help='crop size (SSID-KD: 128 x 128)')
    parser.add_argument('--patch-size', type=int, default=128)
    parser.add_argument('--threads', type=int, help='torch CPU threads')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device('cpu')
    patch = args.patch_size
    gen = torch.Generator().manual_seed(0)
    # 8-bit values in [0, 1] (many ties, as in real crops)
    x = torch.randint(
        0, 256, (args.batch, 3, *args.size), generator=gen).float() / 255
    ours_loss = DarkChannelLoss(patch_size=patch)

    def official(t):
        return official_dc_loss((t + 1) / 2, patch)

    impls = {'official': official, 'ours': ours_loss}
    values, grads = {}, {}
    for name, fn in impls.items():
        t = x.clone().requires_grad_()
        values[name] = fn(t)
        values[name].backward()
        grads[name] = t.grad
    if not torch.equal(values['ours'], values['official']):
        raise AssertionError(f'losses differ: ours {values["ours"].item()}, '
                             f'official {values["official"].item()}')
    if not torch.equal(grads['ours'], grads['official']):
        diff = (grads['ours'] - grads['official']).abs().max().item()
        raise AssertionError(f'gradients differ (max |diff| {diff:.3e})')

    def forward(fn):

        def run():
            with torch.no_grad():
                fn(x)

        return run

    def train(fn):

        def run():
            t = x.clone().requires_grad_()
            fn(t).backward()

        return run

    result = dict(loss=values['ours'].item(), runs=args.repeats)
    print(f'dark-channel loss: {args.batch} x 3 x {args.size[0]} x '
          f'{args.size[1]}, P = {patch}, {torch.get_num_threads()} CPU '
          f'threads; loss {result["loss"]:.6g}, losses and gradients '
          f'bit-equal; median (min-max) of {args.repeats} runs')
    for mode, wrap in (('fwd', forward), ('fwd_bwd', train)):
        timings = time_alternately(
            {name: wrap(fn)
             for name, fn in impls.items()}, device, args.warmup, args.repeats)
        for name, timing in timings.items():
            result.update(timing.as_dict(f'{mode}_{name}'))
            print(f'  {mode:8s} {name:9s}{timing.ms()}')
        ratio = timings['official'].median / timings['ours'].median
        result[f'{mode}_official_over_ours'] = ratio
        print(f'  {mode:8s} ratio official/ours: {ratio:.1f}x')
    return result


if __name__ == '__main__':
    main()
