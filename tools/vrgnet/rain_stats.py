# Copyright (c) mmderain contributors. All rights reserved.
"""Is the generated rain rain-like? Compare G(z) with real rain layers.

For every VRGNet checkpoint given (a work dir stands for all its
``iter_*.pth``), draws ``--num`` seeded codes, generates rain layers and
computes :func:`mmderain.apis.rain_generation.rain_layer_statistics`
(mean, coverage, chroma, orientation coherence, diversity); does the same
for real rain layers ``max(O - B, 0)`` of random crops of a paired dataset
(``--real ROOT`` with ``ROOT/rain`` and ``ROOT/norain``). Writes, under
``--out-dir``:

* ``rain_stats.json``: the statistics, per checkpoint (with its iteration)
  and for the real layers;
* ``rain_layers.png``: first row real rain layers, then one row of ``G(z)``
  per checkpoint (the same codes in every row), all multiplied by
  ``--gain`` so that faint rain is visible;
* ``rain_stats.png``: each statistic against the iteration, the real
  layers' value as a dashed line (when two or more checkpoints are given).

Example::

    python tools/vrgnet/rain_stats.py \\
        work_dirs/vrgnet_b8-p64-2k_rain100l \\
        --real ../shared/data/rain100l/train \\
        --out-dir work_dirs/vrgnet_b8-p64-2k_rain100l/stats
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools.vrgnet.generate import _crop, _grid, _read_rgb, _write_rgb  # noqa

STATS = ('mean', 'coverage', 'chroma', 'coherence', 'diversity')


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


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Statistics of generated vs real rain layers.')
    parser.add_argument(
        'checkpoints',
        nargs='+',
        help='VRGNet checkpoints, or work dirs (all their iter_*.pth)')
    parser.add_argument(
        '--real',
        required=True,
        help='paired dataset root with rain/ and norain/ (same file names)')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--num', type=int, default=64, help='layers per statistic')
    parser.add_argument(
        '--show', type=int, default=8, help='layers per grid row')
    parser.add_argument(
        '--gain', type=float, default=4.0, help='display gain of the grid')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--latent-dim', type=int, default=128)
    parser.add_argument('--base-channels', type=int, default=32)
    parser.add_argument('--image-size', type=int, default=64)
    return parser.parse_args(argv)


def _iteration(path: str) -> Optional[int]:
    match = re.search(r'iter_(\d+)\.pth$', path)
    return int(match.group(1)) if match else None


def expand_checkpoints(items: List[str]) -> List[Tuple[str, Optional[int]]]:
    """Checkpoint files and work dirs -> [(file, iteration)], work dirs
    expanded to their ``iter_*.pth`` in iteration order."""
    out = []
    for item in items:
        if osp.isdir(item):
            files = glob.glob(osp.join(item, 'iter_*.pth'))
            if not files:
                raise FileNotFoundError(f'no iter_*.pth in {item}')
            files.sort(key=_iteration)
            out += [(f, _iteration(f)) for f in files]
        elif osp.isfile(item):
            out.append((item, _iteration(item)))
        else:
            raise FileNotFoundError(f'checkpoint {item} does not exist')
    return out


def real_layers(root: str, num: int, size: int, seed: int) -> torch.Tensor:
    """``num`` rain layers ``max(O - B, 0)`` of random ``size`` crops."""
    from mmderain.apis.rain_generation import real_rain_layers
    rain_dir, clean_dir, names = paired_names(root, '--real')
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(num):
        name = names[int(rng.integers(len(names)))]
        rainy = _read_rgb(osp.join(rain_dir, name))
        clean = _read_rgb(osp.join(clean_dir, name))
        if rainy.shape != clean.shape:
            raise ValueError(f'{name}: rainy {tuple(rainy.shape)} and clean '
                             f'{tuple(clean.shape)} differ in size')
        pair = _crop(torch.cat([rainy, clean]), size, rng)
        layers.append(real_rain_layers(pair[:3], pair[3:]))
    return torch.stack(layers)


def _plot(records: List[dict], real: Dict[str, float], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    iters = [r['iter'] for r in records]
    fig, axes = plt.subplots(1, len(STATS), figsize=(3.2 * len(STATS), 3))
    for ax, key in zip(axes, STATS):
        ax.plot(iters, [r[key] for r in records], 'o-', label='G(z)')
        ax.axhline(real[key], ls='--', c='k', label='real rain')
        ax.set_title(key)
        ax.set_xlabel('iteration')
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns the statistics written to the JSON file."""
    args = parse_args(argv)
    from mmengine.registry import init_default_scope

    from mmderain.apis.rain_generation import (generate_rain, load_subnetwork,
                                               rain_layer_statistics)
    from mmderain.utils import register_all_modules
    register_all_modules()
    init_default_scope('mmderain')
    cfg = dict(
        type='RainGenerator',
        latent_dim=args.latent_dim,
        base_channels=args.base_channels,
        image_size=args.image_size)
    real = real_layers(args.real, args.num, args.image_size, args.seed)
    result = dict(real=rain_layer_statistics(real), checkpoints=[])
    rows = [real[:args.show]]
    for path, iteration in expand_checkpoints(args.checkpoints):
        gen = load_subnetwork(path, cfg, 'rain_generator.')
        rain = generate_rain(gen, args.num, seed=args.seed)
        stats = rain_layer_statistics(rain)
        result['checkpoints'].append(
            dict(checkpoint=path, iter=iteration, **stats))
        rows.append(rain[:args.show])
    header = f'{"":>28s}' + ''.join(f'{k:>11s}' for k in STATS)
    print(header)
    print(f'{"real rain (max(O - B, 0))":>28s}' +
          ''.join(f'{result["real"][k]:11.4f}' for k in STATS))
    for rec in result['checkpoints']:
        name = osp.basename(rec['checkpoint'])
        print(f'{name:>28s}' + ''.join(f'{rec[k]:11.4f}' for k in STATS))
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'rain_stats.json'), 'w') as f:
        json.dump(result, f, indent=2)
    _write_rgb(
        osp.join(args.out_dir, 'rain_layers.png'),
        _grid((torch.cat(rows) * args.gain).clamp(0, 1), args.show))
    records = [r for r in result['checkpoints'] if r['iter'] is not None]
    if len(records) >= 2:
        _plot(records, result['real'], osp.join(args.out_dir,
                                                'rain_stats.png'))
    return result


if __name__ == '__main__':
    main()
