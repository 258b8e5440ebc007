# Copyright (c) mmderain contributors. All rights reserved.
"""Stochastic derained references (SDRs) of a folder of rainy images.

Rain2Avoid's NSS (:func:`mmderain.ops.nss`, bit-exact with the official
``sdr.py``) on every image of ``INPUT_DIR``, with its LDGP mask
``LDGP_DIR/<stem>.png``. Writes, under ``OUT_DIR``:

* ``<stem>/<k>.png`` for k = 0 .. num - 1: the references;
* ``fused/<stem>.png``: their mean, rounded (the official ``sdr(fuse)``).

Every file is written atomically (a temporary file renamed into place), the
fused image last. An image that cannot be read, has no mask or fails is
reported by name and skipped; the tool then exits with status 1 after a
summary. Unlike the official ``--pow`` (``type=int``), ``--eta`` is a
float.

Example::

    python tools/rain2avoid/nss.py data/rain100l_r2a/input \\
        data/rain100l_r2a/ldgp work_dirs/sdr --device cuda
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from typing import List, Optional

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


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


def write_png(path: str, img: np.ndarray) -> None:
    """Write ``img`` as PNG at ``path`` atomically.

    Raises:
        OSError: If encoding or writing fails.
    """
    ok, data = cv2.imencode('.png', img)
    if not ok:
        raise OSError(f'cannot encode {path}')
    folder, name = osp.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.tobytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def process(name: str, args: argparse.Namespace) -> int:
    """NSS of one image; returns the number of pixels to replace.

    Raises:
        FileNotFoundError: If the image cannot be read or its mask is
            missing.
        ValueError: If the mask does not match the image.
    """
    import torch

    from mmderain.ops import nss
    stem = osp.splitext(name)[0]
    path = osp.join(args.input_dir, name)
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'cannot read image {path}')
    mask_path = osp.join(args.ldgp_dir, f'{stem}.png')
    if not osp.isfile(mask_path):
        raise FileNotFoundError(f'LDGP mask of {name} not found: {mask_path}')
    ldgp = cv2.imread(mask_path, cv2.IMREAD_GRAYSCALE)
    if ldgp is None:
        raise FileNotFoundError(f'cannot read LDGP mask {mask_path}')
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
    sdrs, fused = sdrs.cpu().numpy(), fused.cpu().numpy()
    folder = osp.join(args.out_dir, stem)
    os.makedirs(folder, exist_ok=True)
    for k, sdr in enumerate(sdrs):
        write_png(osp.join(folder, f'{k}.png'), sdr)
    write_png(osp.join(args.out_dir, 'fused', f'{stem}.png'), fused)
    return int((ldgp > args.threshold).sum())


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; returns the exit status (0, or 1 if an image failed,
    2 on bad arguments)."""
    args = parse_args(argv)
    import torch
    from mmengine.fileio.backends import LocalBackend

    from mmderain.datasets.folder_utils import list_images
    from mmderain.utils.path import IMG_EXTENSIONS
    if args.device == 'cuda' and not torch.cuda.is_available():
        print(
            'error: --device cuda but CUDA is not available', file=sys.stderr)
        return 2
    out = osp.realpath(args.out_dir)
    for what, folder in (('INPUT_DIR', args.input_dir), ('LDGP_DIR',
                                                         args.ldgp_dir)):
        if osp.realpath(folder) == out:
            print(
                f'error: OUT_DIR is {what}; choose another folder',
                file=sys.stderr)
            return 2
    try:
        names = sorted(
            list_images(LocalBackend(), args.input_dir, IMG_EXTENSIONS, False,
                        'Input'))
    except FileNotFoundError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    os.makedirs(osp.join(args.out_dir, 'fused'), exist_ok=True)
    failures = []
    start = time.perf_counter()
    for index, name in enumerate(names, 1):
        tic = time.perf_counter()
        try:
            pixels = process(name, args)
        except Exception as err:  # report, go on with the others
            failures.append(f'{name}: {err}')
            print(
                f'[{index}/{len(names)}] {name}: FAILED: {err}',
                file=sys.stderr,
                flush=True)
            continue
        print(
            f'[{index}/{len(names)}] {name}: {pixels} pixels to replace, '
            f'{time.perf_counter() - tic:.2f} s',
            flush=True)
    done = len(names) - len(failures)
    print(f'{done} of {len(names)} image(s) done in '
          f'{time.perf_counter() - start:.1f} s: {args.num} references each '
          f'in {args.out_dir}/<stem>/, fused in {args.out_dir}/fused/')
    if failures:
        print(f'{len(failures)} image(s) failed:', file=sys.stderr)
        for reason in failures:
            print(f'  {reason}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
