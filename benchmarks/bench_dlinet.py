# Copyright (c) mmderain contributors. All rights reserved.
"""DLINet fusion: our fused computation vs the official dataflow.

The official ``FUSION`` loops over the ``N`` streak layers; for each it
builds ``M * s`` and ``(1 - M) * s`` (B, K, H, W), pools them, and adds three
per-colour ``(S_c * M * match).sum(1)`` products. Ours pools every
(streak, mask) pair with :func:`mmderain.ops.masked_global_pool` (two
``bmm`` plus a chunked max that saves only arg-max indices) and mixes the
layers with one ``bmm`` and one einsum. Both run here, in the same process,
on the same weights and inputs:

* the fusion module alone (forward + backward), and
* the whole stage-2 network (forward + backward of a training step),

and the script prints the times (median and range of ``--repeats``), their
ratios (official / ours; > 1 means ours is faster) and the bytes the fusion
keeps for the backward pass. Outputs and gradients are checked to agree
first (the fusion's in float64, the network's output in float32).

Example::

    python benchmarks/bench_dlinet.py --batch 4 --size 96 --device cpu
"""
import argparse
import os.path as osp
import sys
from typing import Dict

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from benchmarks._timing import saved_bytes, time_runs  # noqa: E402
from mmderain.models.editors.dlinet.dlinet_net import (  # noqa: E402
    CollaborativeFusion, DLINet)


class OfficialFusion(nn.Module):
    """The official ``da.FUSION`` dataflow on a :class:`CollaborativeFusion`'s
    weights (loop over streaks, straightforward pooling, per-colour sums)."""

    def __init__(self, fusion: CollaborativeFusion) -> None:
        super().__init__()
        self.fusion_list = fusion.fusion_list

    def forward(self, streaks: torch.Tensor,
                masks: torch.Tensor) -> torch.Tensor:
        total_r = total_g = total_b = 0
        for i, block in enumerate(self.fusion_list):
            match = block(masks, streaks[:, i])[..., None, None]
            s = streaks[:, i]
            total_r = total_r + (s[:, 0:1] * masks * match).sum(1, True)
            total_g = total_g + (s[:, 1:2] * masks * match).sum(1, True)
            total_b = total_b + (s[:, 2:3] * masks * match).sum(1, True)
        return torch.cat([total_r, total_g, total_b], 1)


def main(argv=None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers.

    Returns:
        dict[str, float]: ``fusion_max_abs_diff`` and
        ``fusion_max_abs_grad_diff`` (ours vs official, float64),
        ``runs`` (timed calls of each), the fusion's seconds per step
        ``fusion_{official,ours}_s`` (median), ``..._s_min``,
        ``..._s_max``, ``fusion_time_ratio`` (official / ours, medians),
        ``fusion_saved_bytes_{official,ours}`` and their ratio
        ``fusion_saved_bytes_ratio``; unless ``--skip-network``, the same
        for the whole network (``network_...``) and
        ``network_max_abs_diff`` (relative to the output's scale).

    Raises:
        AssertionError: If ours and the official dataflow disagree.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument(
        '--size',
        type=int,
        default=96,
        help='patch size (multiple of 8); official: 96')
    parser.add_argument('--num-masks', type=int, default=10)
    parser.add_argument('--num-blocks', type=int, default=15)
    parser.add_argument('--channels', type=int, default=32)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--skip-network',
        action='store_true',
        help='time the fusion module only')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)

    net = DLINet(args.num_masks, args.num_blocks, args.channels,
                 'second').to(device)
    official = OfficialFusion(net.fusion)
    b, n, k, hw = args.batch, args.num_blocks, args.num_masks, args.size
    streaks = (torch.randn(b, n, 3, hw, hw, device=device) *
               5).requires_grad_()
    masks = torch.rand(b, k, hw, hw, device=device).requires_grad_()

    # 1. agreement of outputs and gradients (float64 on the same weights)
    ours64 = net.fusion.double()
    outs, grads = [], []
    for fusion in (ours64, OfficialFusion(ours64)):
        s64 = streaks.detach().double().requires_grad_()
        m64 = masks.detach().double().requires_grad_()
        fusion.zero_grad(set_to_none=True)
        out = fusion(s64, m64)
        out.square().mean().backward()
        outs.append(out.detach())
        grads.append([s64.grad, m64.grad] +
                     [p.grad.clone() for p in ours64.parameters()])
    diff = (outs[0] - outs[1]).abs().max().item()
    grad_diff = max(
        (a - b).abs().max().item()
        for a, b in zip(*grads)) / max(g.abs().max().item() for g in grads[1])
    net.fusion.float().zero_grad(set_to_none=True)
    print(f'fusion max |ours - official| (float64): {diff:.2e}, gradients '
          f'{grad_diff:.2e} (relative)')
    if not (diff < 1e-9 and grad_diff < 1e-9):
        raise AssertionError(f'fusion outputs differ by {diff:.2e}, '
                             f'gradients by {grad_diff:.2e}')

    def step(fusion):

        def run():
            out = fusion(streaks, masks)
            out.square().mean().backward()

        return run

    results = dict(
        fusion_max_abs_diff=diff,
        fusion_max_abs_grad_diff=grad_diff,
        runs=args.repeats)
    off = time_runs(step(official), device, args.warmup, args.repeats)
    ours = time_runs(step(net.fusion), device, args.warmup, args.repeats)
    results.update(**off.as_dict('fusion_official'),
                   **ours.as_dict('fusion_ours'))
    t_off, t_ours = off.median, ours.median
    results['fusion_time_ratio'] = t_off / t_ours
    mem_off = saved_bytes(lambda: official(streaks, masks))
    mem_ours = saved_bytes(lambda: net.fusion(streaks, masks))
    results.update(
        fusion_saved_bytes_official=mem_off,
        fusion_saved_bytes_ours=mem_ours,
        fusion_saved_bytes_ratio=mem_off / mem_ours)
    print(f'device {device}, batch {b}, {hw}x{hw}, K={k}, N={n}; median '
          f'(min-max) of {args.repeats} runs')
    print(f'fusion fwd+bwd   official {off.ms()}   ours {ours.ms()}   '
          f'ratio {t_off / t_ours:5.2f}x')
    print(f'fusion saved for backward   official {mem_off / 2**20:8.1f} MiB'
          f'   ours {mem_ours / 2**20:8.1f} MiB   ratio '
          f'{mem_off / mem_ours:5.2f}x')

    if not args.skip_network:
        x = torch.rand(b, 3, hw, hw, device=device) * 255
        fused = net.fusion
        with torch.no_grad():
            out_ours = net(x)
            net.fusion = official
            out_off = net(x)
            net.fusion = fused
        net_diff = ((out_ours - out_off).abs().max() /
                    out_off.abs().max()).item()
        print(f'network max |ours - official| (float32, relative): '
              f'{net_diff:.2e}')
        if not net_diff < 1e-5:
            raise AssertionError(f'network outputs differ by {net_diff:.2e}')

        def train_step(fusion):

            def run():
                net.fusion = fusion
                net.zero_grad(set_to_none=True)
                net(x).square().mean().backward()

            return run

        off = time_runs(train_step(official), device, 1, args.repeats)
        ours = time_runs(train_step(fused), device, 1, args.repeats)
        net.fusion = fused
        t_off, t_ours = off.median, ours.median
        results.update(
            network_max_abs_diff=net_diff,
            **off.as_dict('network_official'),
            **ours.as_dict('network_ours'),
            network_time_ratio=t_off / t_ours)
        print(f'network fwd+bwd  official {off.ms()}   ours {ours.ms()}   '
              f'ratio {t_off / t_ours:5.2f}x')
    return results


if __name__ == '__main__':
    main()
