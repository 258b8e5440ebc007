# Copyright (c) mmderain contributors. All rights reserved.
"""Generate rain with a trained VRGNet: rainy versions and latent grids.

Writes, under ``--out-dir``:

* ``rainy/<stem>_<k>.png``: for every clean image, ``--num`` random
  ``S x S`` crops (``S`` = the generator's size, 64 officially) with
  generated rain ``clamp(B + G(z))``, and ``rainy/<stem>_grid.png``
  (clean crop, then its rainy versions);
* ``interpolation.png``: rain layers of variance-preserving mixes of two
  codes (rows: grey rain layer, then the first two clean crops with that
  rain), as the paper's interpolation figure. The codes are the posterior
  means of the RNet for ``--rainy A B`` images, or two random codes;
* ``disentanglement.png``: one row per swept latent dimension
  (``--dims``), ``z[d]`` over ``arange(-3, 3.1, 0.4)`` with the other
  dimensions fixed.

Example::

    python tools/vrgnet/generate.py \\
        work_dirs/vrgnet_b18-p64-2100k_rain100l/iter_2100000.pth \\
        data/rain100l/test/norain --num 8 --out-dir work_dirs/generated
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate rainy images and latent grids with a trained '
        'VRGNet rain generator.')
    parser.add_argument(
        'checkpoint',
        help='VRGNet checkpoint (rain_generator.* weights; a work dir '
        'uses its last_checkpoint)')
    parser.add_argument(
        'clean', nargs='+', help='clean image files, folders or globs')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--num', type=int, default=4, help='rainy versions per image')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--rainy',
        nargs=2,
        metavar=('A', 'B'),
        help='two rainy images whose RNet codes are interpolated (default: '
        'two random codes)')
    parser.add_argument(
        '--steps', type=int, default=11, help='interpolation steps')
    parser.add_argument(
        '--dims',
        type=int,
        nargs='+',
        default=list(range(8)),
        help='latent dimensions of the disentanglement grid')
    parser.add_argument('--latent-dim', type=int, default=128)
    parser.add_argument('--base-channels', type=int, default=32)
    parser.add_argument('--image-size', type=int, default=64)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def _read_rgb(path: str) -> torch.Tensor:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f'cannot read image {path}')
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(img).permute(2, 0, 1).float() / 255.


def _write_rgb(path: str, img: torch.Tensor) -> None:
    arr = (img.clamp(0, 1) * 255. + 0.5).byte().permute(1, 2, 0).numpy()
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    if not cv2.imwrite(
            path, cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write {path}')


def _grid(images: torch.Tensor, ncol: int) -> torch.Tensor:
    from torchvision.utils import make_grid
    return make_grid(images, nrow=ncol, padding=2, pad_value=1.0)


def _crop(img: torch.Tensor, size: int, rng: np.random.Generator):
    _, h, w = img.shape
    if h < size or w < size:
        raise ValueError(f'images must be at least {size}x{size}, got '
                         f'{h}x{w}')
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    return img[:, top:top + size, left:left + size]


def main(argv: Optional[List[str]] = None) -> Dict[str, str]:
    """Run the tool; returns the written grid files."""
    args = parse_args(argv)
    from mmengine.registry import init_default_scope

    from mmderain.apis import collect_image_files
    from mmderain.apis.rain_generation import (generate_rain, load_subnetwork,
                                               mix_latents, rain_to_gray,
                                               sweep_latent)
    from mmderain.utils import register_all_modules
    register_all_modules()
    init_default_scope('mmderain')
    net_args = dict(
        latent_dim=args.latent_dim,
        base_channels=args.base_channels,
        image_size=args.image_size)
    gen = load_subnetwork(args.checkpoint,
                          dict(type='RainGenerator', **net_args),
                          'rain_generator.', args.device)
    size = args.image_size
    rng = np.random.default_rng(args.seed)
    files = collect_image_files(args.clean)
    out = {}

    # 1. rainy versions of every clean image
    crops = []
    for i, path in enumerate(files):
        clean = _crop(_read_rgb(path), size, rng)
        crops.append(clean)
        rain = generate_rain(gen, args.num, seed=args.seed + i).cpu()
        rainy = (clean[None] + rain).clamp(0, 1)
        stem = osp.splitext(osp.basename(path))[0]
        for k, img in enumerate(rainy):
            _write_rgb(osp.join(args.out_dir, 'rainy', f'{stem}_{k}.png'), img)
        _write_rgb(
            osp.join(args.out_dir, 'rainy', f'{stem}_grid.png'),
            _grid(torch.cat([clean[None], rainy]), args.num + 1))
    out['rainy'] = osp.join(args.out_dir, 'rainy')

    # 2. latent interpolation
    if args.rainy:
        enc = load_subnetwork(args.checkpoint,
                              dict(type='RainEncoder', **net_args),
                              'rain_encoder.', args.device)
        codes = []
        for path in args.rainy:
            patch = _crop(_read_rgb(path), size, rng)[None].to(args.device)
            with torch.no_grad():
                codes.append(enc(patch)[0][0].cpu())  # posterior mean
        z1, z2 = codes
    else:
        g = torch.Generator().manual_seed(args.seed)
        z1, z2 = torch.randn(2, args.latent_dim, generator=g)
    weights = np.linspace(0, 1, args.steps)
    rain = generate_rain(gen, 0, z=mix_latents(z1, z2, weights)).cpu()
    rows = [rain_to_gray(rain)]
    for clean in crops[:2]:
        rows.append((clean[None] + rain).clamp(0, 1))
    out['interpolation'] = osp.join(args.out_dir, 'interpolation.png')
    _write_rgb(out['interpolation'], _grid(torch.cat(rows), args.steps))

    # 3. disentanglement: one row per dimension
    values = np.arange(-3, 3.1, 0.4)
    g = torch.Generator().manual_seed(args.seed)
    base = torch.randn(args.latent_dim, generator=g)
    rain = generate_rain(gen, 0, z=sweep_latent(base, args.dims, values)).cpu()
    out['disentanglement'] = osp.join(args.out_dir, 'disentanglement.png')
    _write_rgb(out['disentanglement'],
               _grid(rain_to_gray(rain).clamp(0, 1), len(values)))
    for key, path in out.items():
        print(f'{key}: {path}')
    return out


if __name__ == '__main__':
    main()
