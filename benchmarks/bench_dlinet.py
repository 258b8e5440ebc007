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

and the script prints the time ratios (official / ours; > 1 means ours is
faster) and the bytes the fusion keeps for the backward pass. Outputs and
gradients are checked to agree first.

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

from benchmarks._timing import median_time, saved_bytes  # noqa: E402
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
    """Run the benchmark; returns the measured ratios."""
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

    # 1. agreement (float64 on the same weights)
    ours64 = net.fusion.double()
    s64, m64 = streaks.detach().double(), masks.detach().double()
    diff = (ours64(s64, m64) - OfficialFusion(ours64)(s64, m64)).abs().max()
    net.fusion.float()
    print(f'fusion max |ours - official| (float64): {diff.item():.2e}')
    assert diff < 1e-9

    def step(fusion):

        def run():
            out = fusion(streaks, masks)
            out.square().mean().backward()

        return run

    results = {}
    t_off = median_time(step(official), device, args.warmup, args.repeats)
    t_ours = median_time(step(net.fusion), device, args.warmup, args.repeats)
    results['fusion_time_ratio'] = t_off / t_ours
    mem_off = saved_bytes(lambda: official(streaks, masks))
    mem_ours = saved_bytes(lambda: net.fusion(streaks, masks))
    results['fusion_saved_bytes_ratio'] = mem_off / mem_ours
    print(f'device {device}, batch {b}, {hw}x{hw}, K={k}, N={n}')
    print(f'fusion fwd+bwd   official {t_off * 1e3:9.2f} ms   ours '
          f'{t_ours * 1e3:9.2f} ms   ratio {t_off / t_ours:5.2f}x')
    print(f'fusion saved for backward   official {mem_off / 2**20:8.1f} MiB'
          f'   ours {mem_ours / 2**20:8.1f} MiB   ratio '
          f'{mem_off / mem_ours:5.2f}x')

    if not args.skip_network:
        x = torch.rand(b, 3, hw, hw, device=device) * 255
        fused = net.fusion

        def train_step(fusion):

            def run():
                net.fusion = fusion
                net.zero_grad(set_to_none=True)
                net(x).square().mean().backward()

            return run

        t_off = median_time(train_step(official), device, 1, args.repeats)
        t_ours = median_time(train_step(fused), device, 1, args.repeats)
        net.fusion = fused
        results['network_time_ratio'] = t_off / t_ours
        print(f'network fwd+bwd  official {t_off * 1e3:9.2f} ms   ours '
              f'{t_ours * 1e3:9.2f} ms   ratio {t_off / t_ours:5.2f}x')
    return results


if __name__ == '__main__':
    main()
