# Copyright (c) mmderain contributors. All rights reserved.
"""PReNet / VRGNet-derainer inference: ours vs the official dataflow.

The official networks (csdwren/PReNet ``networks.py``, hongwang01/VRGNet
``for_syn/prenet.py``) compute every stage as::

    x = conv0(cat(input, x))            # Conv + ReLU
    z = cat(x, h)
    i, f, g, o = conv_i(z), conv_f(z), conv_g(z), conv_o(z)  # four convs
    c = f * c + i * g; h = o * tanh(c)
    x = relu(res_conv_k(x) + x), k = 1..5
    x = conv(x) + input                 # VRGNet's last stage: convfinal

:class:`OfficialPReNet` below is that dataflow, written out as plainly,
holding the **same weights** as our :class:`PReNet` (the fused gate kernel
split back into four). Ours computes the same function with one gate
convolution (the first stage convolving only the input half: the state is
zero), a fused point-wise LSTM update (one compiled pass on CPU, one Triton
kernel on CUDA), ReLUs fused into the convolutions (oneDNN post-ops),
in-place additions and, on CPU, channels-last features.

The script checks that both give the same outputs (max abs difference
<= 1e-5), then times them alternately on the same input, under
``torch.inference_mode``, and prints images/s of both and their ratio
(ours / official; > 1 means ours is faster).

Example::

    python benchmarks/bench_prenet.py                  # PReNet, CPU
    python benchmarks/bench_prenet.py --variational    # VRGNet derainer
    python benchmarks/bench_prenet.py --device cuda --batch 4
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from benchmarks._timing import time_alternately  # noqa: E402
from mmderain.models.archs.prenet import PReNet  # noqa: E402
from mmderain.models.editors.vrgnet.variational_prenet import \
    VariationalPReNet  # noqa: E402


def _conv(cin: int, cout: int, act: Optional[nn.Module] = None):
    layers = [nn.Conv2d(cin, cout, 3, 1, 1)]
    return nn.Sequential(*layers, *([act] if act is not None else []))


class OfficialPReNet(nn.Module):
    """The official PReNet / VRGNet-derainer forward, written plainly.

    Layer names follow the official code (``conv0``, ``conv_{i,f,g,o}``,
    ``res_conv{k}``, ``conv``, ``convfinal``).

    Args:
        net (PReNet): Our network (recurrent, distinct residual blocks)
            whose weights are copied; a :class:`VariationalPReNet` gives
            VRGNet's derainer (``convfinal`` on the last stage).
    """

    def __init__(self, net: PReNet) -> None:
        super().__init__()
        if net.lstm is None or net.share_res_blocks:
            raise ValueError('only the LSTM, distinct-block PReNet is '
                             'benchmarked')
        c = net.lstm.channels
        cin = net.in_channels
        self.num_stages = net.num_stages
        self.variational = isinstance(net, VariationalPReNet)
        self.mid_channels = c
        self.conv0 = _conv(2 * cin, c, nn.ReLU())
        acts = dict(i=nn.Sigmoid, f=nn.Sigmoid, g=nn.Tanh, o=nn.Sigmoid)
        for name, act in acts.items():
            setattr(self, f'conv_{name}', _conv(2 * c, c, act()))
        self.res_convs = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c, c, 3, 1, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 1, 1),
                nn.ReLU()) for _ in range(net.num_res_blocks))
        self.conv = _conv(c, cin)
        if self.variational:
            self.convfinal = _conv(c, 2 * cin)
        with torch.no_grad():
            self._copy(self.conv0[0], net.head)
            self._copy(self.conv[0], net.tail)
            if self.variational:
                self._copy(self.convfinal[0], net.tail_var)
            for k, name in enumerate('ifgo'):
                conv = getattr(self, f'conv_{name}')[0]
                conv.weight.copy_(net.lstm.gates.weight[k * c:(k + 1) * c])
                conv.bias.copy_(net.lstm.gates.bias[k * c:(k + 1) * c])
            for seq, block in zip(self.res_convs, net.res_blocks):
                self._copy(seq[0], block.conv1)
                self._copy(seq[2], block.conv2)

    @staticmethod
    def _copy(dst: nn.Conv2d, src: nn.Conv2d) -> None:
        dst.weight.copy_(src.weight)
        dst.bias.copy_(src.bias)

    def _stage(self, input, x, h, c):
        x = torch.cat((input, x), 1)
        x = self.conv0(x)
        x = torch.cat((x, h), 1)
        i = self.conv_i(x)
        f = self.conv_f(x)
        g = self.conv_g(x)
        o = self.conv_o(x)
        c = f * c + i * g
        h = o * torch.tanh(c)
        x = h
        for res_conv in self.res_convs:
            resx = x
            x = F.relu(res_conv(x) + resx)
        return x, h, c

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Derain ``input`` (N, C, H, W); returns the final estimate."""
        n, _, row, col = input.shape
        x = input
        h = input.new_zeros(n, self.mid_channels, row, col)
        c = input.new_zeros(n, self.mid_channels, row, col)
        for _ in range(self.num_stages - 1):
            x, h, c = self._stage(input, x, h, c)
            x = self.conv(x) + input
        x, h, c = self._stage(input, x, h, c)
        if self.variational:
            return self.convfinal(x)[:, :input.shape[1]] + input
        return self.conv(x) + input


def main(argv=None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers.

    Returns:
        dict[str, float]: ``speedup`` (ours / official images/s, from the
        median times), ``ours_images_per_s``, ``official_images_per_s``,
        ``max_abs_diff`` (ours vs official outputs), ``runs`` (timed calls
        of each) and the seconds per call of both: ``{ours,official}_s``
        (median), ``..._s_min`` and ``..._s_max``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--variational',
        action='store_true',
        help="VRGNet's derainer (VariationalPReNet) instead of PReNet")
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--height', type=int, default=321)
    parser.add_argument('--width', type=int, default=481)
    parser.add_argument('--stages', type=int, default=6)
    parser.add_argument(
        '--checkpoint',
        help='mmderain checkpoint of the generator (default: random '
        'initialisation)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, help='torch CPU threads (default: unchanged)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda':
        # full float32 on both paths (TF32 convolutions alone differ by
        # ~1e-4 between one fused and four separate gate convolutions)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    cls = VariationalPReNet if args.variational else PReNet
    net = cls(num_stages=args.stages)
    if args.checkpoint:
        state = torch.load(
            args.checkpoint, map_location='cpu',
            weights_only=True)['state_dict']
        net.load_state_dict({
            k[len('generator.'):]: v
            for k, v in state.items() if k.startswith('generator.')
        })
    official = OfficialPReNet(net)
    net.to(device).eval()
    official.to(device).eval()
    x = torch.rand(
        args.batch, 3, args.height, args.width, generator=None).to(device)

    with torch.inference_mode():
        diff = (net(x) - official(x)).abs().max().item()
        print(f'max |ours - official| = {diff:.2e}')
        if not diff <= 1e-5:
            raise AssertionError(f'outputs differ by {diff:.2e} > 1e-5')
        t = time_alternately(
            {
                'official': lambda: official(x),
                'ours': lambda: net(x)
            }, device, args.warmup, args.repeats)
    ips = {k: args.batch / v.median for k, v in t.items()}
    speedup = ips['ours'] / ips['official']
    name = 'VariationalPReNet' if args.variational else 'PReNet'
    print(f'{name}, {args.stages} stages, device {device}, batch '
          f'{args.batch}, {args.width}x{args.height}, '
          f'{torch.get_num_threads()} CPU threads')
    print(f'official dataflow {ips["official"]:8.3f} images/s   ours '
          f'{ips["ours"]:8.3f} images/s   ratio {speedup:5.2f}x')
    print(f'median (min-max) of {args.repeats} runs per batch: official '
          f'{t["official"].ms()}   ours {t["ours"].ms()}')
    return dict(
        speedup=speedup,
        ours_images_per_s=ips['ours'],
        official_images_per_s=ips['official'],
        max_abs_diff=diff,
        runs=args.repeats,
        **t['ours'].as_dict('ours'),
        **t['official'].as_dict('official'))


if __name__ == '__main__':
    main()
