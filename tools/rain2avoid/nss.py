# Copyright (c) mmderain contributors. All rights reserved.
"""Stochastic derained references (SDRs) of a folder of rainy images.

Rain2Avoid's NSS (:func:`mmderain.ops.nss`, bit-exact with the official
``sdr.py``) on every image of ``INPUT_DIR``, with its LDGP mask
``LDGP_DIR/<stem>.png``. Writes, under ``OUT_DIR``:

* ``<stem>/<k>.png`` for k = 0 .. num - 1: the references;
* ``fused/<stem>.png``: their mean, rounded (the official ``sdr(fuse)``).

The images are processed in natural order (``2.png`` before ``10.png``)
by the loop shared with the other Rain2Avoid tools
(``tools/rain2avoid/_folder.py``). Every file is written atomically (a
temporary file renamed into place), the fused image last. An image that
cannot be read, has no mask, or whose mask differs in size, is reported
by name and skipped; the tool then exits with status 1 after a summary
(2, with nothing done, when ``OUT_DIR`` is ``INPUT_DIR`` or ``LDGP_DIR``
or ``--device cuda`` finds no CUDA). Unlike the official ``--pow``
(``type=int``), ``--eta`` is a float.

Example::

    python tools/rain2avoid/nss.py data/rain100l_r2a/input \\
        data/rain100l_r2a/ldgp work_dirs/sdr --device cuda
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import cv2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools.rain2avoid import _folder  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Rain2Avoid NSS: stochastic derained references of the '
        'images of a folder, with their LDGP masks.')
    parser.add_argument('input_dir', help='folder of rainy images')
    parser.add_argument(
        'ldgp_dir', help='folder of LDGP masks, <stem>.png per image')
    parser.add_argument(
        'out_dir', help='output folder: <stem>/<k>.png and fused/<stem>.png')
    parser.add_argument(
        '--num', type=int, default=50, help='references per image')
    parser.add_argument(
        '--eta',
        type=float,
        default=0.5,
        help='exponent of the patch distance in the weights (official '
        'offline 0.5, online 1)')
    parser.add_argument(
        '--threshold',
        type=int,
        default=10,
        help='mask values above it are replaced')
    parser.add_argument(
        '--window', type=int, default=7, help='candidate window K')
    parser.add_argument(
        '--sim-window',
        type=int,
        default=3,
        help='initial similarity window k')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    return parser.parse_args(argv)


def process(name: str, args: argparse.Namespace) -> str:
    """NSS of one image, its outputs written.

    Returns:
        str: What was written and the number of pixels to replace, for
        the progress line.

    Raises:
        OSError: If the image or its mask cannot be read (a missing mask
            is named as such) or an output cannot be written.
        ValueError: If the mask does not match the image.
    """
    import torch

    from mmderain.datasets.transforms import read_image
    from mmderain.ops import nss
    stem = osp.splitext(name)[0]
    path = osp.join(args.input_dir, name)
    image = read_image(path, cv2.IMREAD_COLOR)
    mask_path = osp.join(args.ldgp_dir, f'{stem}.png')
    if not osp.isfile(mask_path):
        raise FileNotFoundError(f'LDGP mask of {name} not found: {mask_path}')
    ldgp = read_image(mask_path, cv2.IMREAD_GRAYSCALE)
    if ldgp.shape != image.shape[:2]:
        raise ValueError(f'LDGP mask {mask_path} is {ldgp.shape[0]}x'
                         f'{ldgp.shape[1]}, image {path} is '
                         f'{image.shape[0]}x{image.shape[1]}')
    device = torch.device(args.device)
    sdrs, fused = nss(
        torch.from_numpy(image).to(device),
        torch.from_numpy(ldgp).to(device),
        num=args.num,
        eta=args.eta,
        threshold=args.threshold,
        window=args.window,
        sim_window=args.sim_window,
        seed=args.seed,
        return_fused=True)
    folder = osp.join(args.out_dir, stem)
    for k, sdr in enumerate(sdrs.cpu().numpy()):
        _folder.write_image(sdr, osp.join(folder, f'{k}.png'))
    fused_path = osp.join(args.out_dir, 'fused', f'{stem}.png')
    _folder.write_image(fused.cpu().numpy(), fused_path)
    pixels = int((ldgp > args.threshold).sum())
    return (f'{args.num} references in {folder}/, {fused_path}; '
            f'{pixels} pixels to replace')


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; returns the exit status (0, or 1 if an image failed,
    2 on bad arguments)."""
    args = parse_args(argv)
    import torch
    if args.device == 'cuda' and not torch.cuda.is_available():
        print(
            'error: --device cuda but CUDA is not available', file=sys.stderr)
        return 2
    return _folder.run_folder(
        args.input_dir,
        args.out_dir,
        lambda name: process(name, args),
        f'{args.num} references each in {args.out_dir}/<stem>/, fused in '
        f'{args.out_dir}/fused/',
        read_dirs={'LDGP_DIR': args.ldgp_dir})


if __name__ == '__main__':
    sys.exit(main())
