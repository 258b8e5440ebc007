# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC's instance-modulated convolution: ours vs the per-sample loop.

CoIC's CoI-M layer (``TConv``) convolves every sample with its own kernel
``W * A_b``. Three exact implementations run here in the same process, on
the same tensors:

* ``loop``: the naive per-sample Python loop
  (:func:`~mmderain.ops.instance_modulated_conv2d_reference`), one
  ``F.conv2d`` per sample;
* ``batched``: the official dataflow, the B per-sample kernels stacked and
  one grouped convolution (``groups = B * G``), plain autograd
  (``instance_modulated_conv2d(..., memory_efficient=False)``);
* ``ours``: :func:`~mmderain.ops.instance_modulated_conv2d`, the same
  grouped convolution inside an autograd function that keeps only ``x``,
  ``W`` and the small modulation vectors for the backward pass and rebuilds
  ``A`` and ``W * A`` there (``A`` by a Triton kernel on CUDA);

plus the unmodulated ``nn.Conv2d`` of the same shape as a floor. Outputs and
gradients are checked to agree first; then forward (no autograd) and forward
+ backward are timed (median and range of ``--repeats``), and the script
prints the times, the
ratios (``loop / ours``, ``batched / ours``: > 1 means ours is faster) and
the bytes autograd keeps for the backward pass.

``--end-to-end`` also times one training step of CoIC-BRN (BRN with
``CoIMConv2d`` layers modulated by the code of a ``MomentumEncoder``, plus
the contrastive loss and its negatives) against the plain BRN step, both
with the negative-SSIM loss, and prints their ratio (the cost of CoIC); the
warm-up network (no code) must compute the plain BRN's output.

Example::

    python benchmarks/bench_coic.py --threads 2
    python benchmarks/bench_coic.py --device cuda --repeats 20
    python benchmarks/bench_coic.py --end-to-end --e2e-batch 12 --e2e-size 100
"""
import argparse
import os.path as osp
import sys
from typing import Dict

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from benchmarks._timing import saved_bytes, time_runs  # noqa: E402
from mmderain.ops import modulated_conv as mc  # noqa: E402


def op_benchmark(args: argparse.Namespace,
                 device: torch.device) -> Dict[str, float]:
    """Time the modulated-convolution implementations (see the docstring).

    Returns:
        dict[str, float]: ``max_abs_diff`` and ``max_abs_grad_diff`` (of
        ``batched`` and ``ours`` against ``loop``), ``runs`` (timed calls
        of each), the seconds per call ``{mode}_{name}_s`` (median),
        ``..._s_min`` and ``..._s_max`` for ``mode`` in ``fwd``,
        ``fwd_bwd``, the ratios ``{mode}_loop_over_ours`` and
        ``{mode}_batched_over_ours`` (medians), the bytes kept for the
        backward pass ``saved_bytes_{loop,batched,ours}`` and
        ``saved_bytes_batched_over_ours``.

    Raises:
        AssertionError: If the outputs or gradients differ by more than
            1e-5 (relative to the gradients' scale).
    """
    b, c, s, k, g = args.batch, args.channels, args.size, args.kernel, \
        args.groups
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(b, c, s, s, generator=gen).to(device).requires_grad_()
    weight = (torch.randn(c, c // g, k, k, generator=gen) /
              (c // g * k * k)**0.5).to(device).requires_grad_()
    bias = torch.randn(c, generator=gen).to(device).requires_grad_()
    w1, w2, w3 = [
        torch.randn(b, n, generator=gen).to(device).requires_grad_()
        for n in (c, c // g, k * k)
    ]
    grad_out = torch.randn(b, c, s, s, generator=gen).to(device)
    conv = dict(stride=1, padding=k // 2, dilation=1, groups=g)
    tensors = (x, weight, bias, w1, w2, w3)
    impls = {
        'loop':
        lambda: mc.instance_modulated_conv2d_reference(*tensors, **conv),
        'batched':
        lambda: mc.instance_modulated_conv2d(
            *tensors, **conv, memory_efficient=False),
        'ours':
        lambda: mc.instance_modulated_conv2d(*tensors, **conv),
        'plain':
        lambda: F.conv2d(x, weight, bias, **conv),
    }
    with torch.no_grad():
        ref = impls['loop']()
        diff = max(
            (impls[n]() - ref).abs().max().item() for n in ('batched', 'ours'))

    def grads(fn):
        for t in tensors:
            t.grad = None
        fn().backward(grad_out)
        return [t.grad.clone() for t in tensors]

    ref_grads = grads(impls['loop'])
    scale = max(g.abs().max().item() for g in ref_grads)
    grad_diff = max((a - b).abs().max().item() / scale
                    for n in ('batched', 'ours')
                    for a, b in zip(grads(impls[n]), ref_grads))
    if not (diff <= 1e-5 and grad_diff <= 1e-5):
        raise AssertionError(f'outputs differ by {diff:.2e}, gradients by '
                             f'{grad_diff:.2e} (relative) > 1e-5')
    print(f'modulated conv: device {device}, {torch.get_num_threads()} CPU '
          f'threads, batch {b}, {c} -> {c} channels, groups {g}, {s}x{s}, '
          f'{k}x{k}; max |ours - loop| {diff:.2e}, gradients '
          f'{grad_diff:.2e} (relative); median (min-max) of {args.repeats} '
          'runs')

    def forward(fn):

        def run():
            with torch.no_grad():
                fn()

        return run

    def train(fn):

        def run():
            for t in tensors:
                t.grad = None
            fn().backward(grad_out)

        return run

    results = dict(
        max_abs_diff=diff, max_abs_grad_diff=grad_diff, runs=args.repeats)
    for mode, wrap in (('fwd', forward), ('fwd_bwd', train)):
        timings = {
            name: time_runs(wrap(fn), device, args.warmup, args.repeats)
            for name, fn in impls.items()
        }
        for name, timing in timings.items():
            results.update(timing.as_dict(f'{mode}_{name}'))
        t = {n: timing.median for n, timing in timings.items()}
        results[f'{mode}_loop_over_ours'] = t['loop'] / t['ours']
        results[f'{mode}_batched_over_ours'] = t['batched'] / t['ours']
        print(f'{mode:8s} loop {timings["loop"].ms()}  batched '
              f'{timings["batched"].ms()}  ours {timings["ours"].ms()}  '
              f'(plain conv {timings["plain"].ms()})   ratio loop/ours '
              f'{t["loop"] / t["ours"]:5.2f}x  batched/ours '
              f'{t["batched"] / t["ours"]:5.2f}x')
    mem = {n: saved_bytes(impls[n]) for n in ('loop', 'batched', 'ours')}
    print('saved for backward  ' + '  '.join(f'{n} {v / 2**20:7.2f} MiB'
                                             for n, v in mem.items()))
    results.update({f'saved_bytes_{n}': v for n, v in mem.items()})
    results['saved_bytes_batched_over_ours'] = mem['batched'] / mem['ours']
    return results


# ---------------------------------------------------------------------- #
# --end-to-end: a CoIC-BRN training step vs a BRN training step
# ---------------------------------------------------------------------- #
def end_to_end_benchmark(args: argparse.Namespace,
                         device: torch.device) -> Dict[str, float]:
    """One training step (forward + backward) of CoIC-BRN vs BRN.

    * BRN: ``-SSIM(G(x), y)`` with plain convolutions (our BRN's fused
      paths: one gate convolution per branch, zero states skipped);
    * CoIC-BRN warm-up (official ``train_BRN.py`` up to ``stage1_iters``):
      the BRN built with ``CoIMConv2d`` layers, no code (plain
      convolutions called one by one, as officially), same loss;
    * CoIC-BRN step (after the warm-up): the positive key and
      ``n_neg`` detail negatives (per-batch draws), the hardest rain
      negative of the batch, the momentum encoder's similarities and code
      ``z``, the BRN modulated by ``z``, and ``-SSIM + 0.2 * L_con``.

    The networks share their base weights; the optimiser step is not timed.

    Returns:
        dict[str, float]: ``e2e_warmup_max_abs_diff`` (the warm-up
        network's output vs the plain BRN's), the step times
        ``e2e_{brn,warmup,coic}_s`` (median), ``..._s_min``,
        ``..._s_max`` and the ratios of the medians to the BRN step
        ``e2e_warmup_over_brn``, ``e2e_coic_over_brn``.

    Raises:
        AssertionError: If the warm-up network (no code) and the plain
            BRN differ by more than 1e-5.
    """
    from mmderain.models.archs import BRN
    from mmderain.models.editors.coic import (CoICContrastiveLoss,
                                              MomentumEncoder,
                                              detail_negatives,
                                              hardest_rain_negative,
                                              modulation_code)
    from mmderain.models.losses import SSIMLoss

    torch.manual_seed(0)
    b, s = args.e2e_batch, args.e2e_size
    plain = BRN(num_iters=args.e2e_iters).to(device).train()
    coic = BRN(
        num_iters=args.e2e_iters,
        conv_cfg=dict(type='CoIMConv2d', code_dim=128)).to(device).train()
    coic.load_state_dict(plain.state_dict(), strict=False)
    encoder = MomentumEncoder().to(device).train()
    ssim_loss = SSIMLoss().to(device)
    con_loss = CoICContrastiveLoss()
    gen = torch.Generator().manual_seed(1)
    clean = torch.rand(b, 3, s, s, generator=gen).to(device)
    rainy = (clean +
             0.3 * torch.rand(b, 3, s, s, generator=gen).to(device)).clamp(
                 0, 1)
    with torch.no_grad():
        warm_diff = (coic(rainy) - plain(rainy)).abs().max().item()
    if not warm_diff <= 1e-5:
        raise AssertionError(f'CoIC-BRN without a code differs from BRN by '
                             f'{warm_diff:.2e} > 1e-5')

    def plain_step():
        plain.zero_grad(set_to_none=True)
        ssim_loss(plain(rainy), clean).backward()

    def warmup_step():
        coic.zero_grad(set_to_none=True)
        ssim_loss(coic(rainy), clean).backward()

    def coic_step():
        coic.zero_grad(set_to_none=True)
        encoder.zero_grad(set_to_none=True)
        im_q = rainy  # official: the whole image resized to the crop size
        im_k = detail_negatives(im_q, 1, blur=False)[:, 0]
        rain = rainy - clean
        negs = torch.cat(
            [(clean + hardest_rain_negative(rain, rain)).clamp(0, 1)[:, None],
             detail_negatives(clean, args.e2e_negatives)], 1)
        sims, z = encoder(im_q, im_k, negs)
        with modulation_code(coic, z):
            loss = ssim_loss(coic(rainy), clean) + con_loss(sims)
        loss.backward()

    timings = dict(
        brn=time_runs(plain_step, device, 1, args.repeats),
        warmup=time_runs(warmup_step, device, 1, args.repeats),
        coic=time_runs(coic_step, device, 1, args.repeats))
    t_plain, t_warm, t_coic = (
        timings[n].median for n in ('brn', 'warmup', 'coic'))
    print(f'end-to-end train step: BRN T={args.e2e_iters}, batch {b}, '
          f'{s}x{s}, {args.e2e_negatives} + 1 negatives; warm-up vs BRN '
          f'max |diff| {warm_diff:.2e}; median (min-max) of {args.repeats} '
          f'runs\n'
          f'  BRN {timings["brn"].ms()}   CoIC-BRN warm-up (no code) '
          f'{timings["warmup"].ms()}   CoIC-BRN {timings["coic"].ms()}   '
          f'ratios to BRN: warm-up {t_warm / t_plain:5.2f}x, CoIC '
          f'{t_coic / t_plain:5.2f}x')
    results = dict(e2e_warmup_max_abs_diff=warm_diff)
    for name, timing in timings.items():
        results.update(timing.as_dict(f'e2e_{name}'))
    results.update(
        e2e_warmup_over_brn=t_warm / t_plain,
        e2e_coic_over_brn=t_coic / t_plain)
    return results


def main(argv=None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--kernel', type=int, default=3)
    parser.add_argument(
        '--groups', type=int, default=1, help='e.g. --groups 64: depthwise')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: unchanged)')
    parser.add_argument(
        '--end-to-end',
        action='store_true',
        help='also time a CoIC-BRN vs a BRN training step')
    parser.add_argument(
        '--e2e-batch', type=int, default=2, help='official: 12')
    parser.add_argument(
        '--e2e-size', type=int, default=64, help='official crop: 100')
    parser.add_argument(
        '--e2e-iters', type=int, default=8, help='BRN iterations T')
    parser.add_argument('--e2e-negatives', type=int, default=4)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results = op_benchmark(args, device)
    if args.end_to_end:
        results.update(end_to_end_benchmark(args, device))
    return results


if __name__ == '__main__':
    main()
