# Copyright (c) mmderain contributors. All rights reserved.
"""Self-contained deraining demo; needs no data set download.

Takes colour sample photos shipped with scikit-image, adds synthetic rain
(fixed seed), derains them with a small PReNet checkpoint kept in the
repository, prints PSNR / SSIM (on Y, against the clean photo) before and
after deraining, and writes ``clean | rainy | derained`` images.

Example::

    python tools/demo.py --out-dir work_dirs/demo
"""
import argparse
import os.path as osp
import sys
import time
import zlib
from typing import Dict, List, Optional

import cv2
import numpy as np

DEFAULT_CONFIG = 'configs/prenet/prenet_t6-c16_b8-p48-2k_rain100l.py'
DEFAULT_CHECKPOINT = 'checkpoints/prenet_t6-c16_rain100l_demo.pth'
DEFAULT_IMAGES = ('astronaut', 'coffee', 'chelsea', 'rocket')
# Moderate rain for the demo photos; keys are synthesize_rain parameters.
RAIN_PARAMS: Dict = dict(
    angle=10.0, length=18.0, density=0.004, width=1, blur=0.5, brightness=0.7)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Derain scikit-image sample photos with synthetic rain.')
    parser.add_argument(
        '--config', default=DEFAULT_CONFIG, help='model config file')
    parser.add_argument(
        '--checkpoint', default=DEFAULT_CHECKPOINT, help='checkpoint file')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/demo',
        help='directory for the comparison images')
    parser.add_argument(
        '--images',
        nargs='+',
        default=list(DEFAULT_IMAGES),
        help='names of colour images in skimage.data')
    parser.add_argument(
        '--max-size',
        type=int,
        default=320,
        help='longest image side after downscaling (keeps CPU time low)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the synthetic rain')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda')
    return parser.parse_args(argv)


def load_sample(name: str, max_size: int) -> np.ndarray:
    """Load a colour ``skimage.data`` photo, downscaled to ``max_size``.

    Args:
        name (str): Function name in ``skimage.data``, e.g. ``'astronaut'``.
        max_size (int): Maximum length of the longer side in pixels.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 RGB image in ``[0, 255]``.
    """
    from skimage import data

    loader = getattr(data, name, None)
    if not callable(loader):
        raise ValueError(f'skimage.data has no image named {name!r}')
    img = np.asarray(loader())
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f'skimage.data.{name} is not an 8-bit colour image')
    img = img[..., :3]
    scale = max_size / max(img.shape[:2])
    if scale < 1:
        size = (max(1, round(img.shape[1] * scale)),
                max(1, round(img.shape[0] * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` in the top-left corner of an RGB uint8 image copy."""
    img = img.copy()
    for color, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(img, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color,
                    thickness, cv2.LINE_AA)
    return img


def side_by_side(images: List[np.ndarray],
                 labels: List[str],
                 gap: int = 4) -> np.ndarray:
    """Concatenate labelled same-size RGB images horizontally.

    Args:
        images (list[np.ndarray]): ``(H, W, 3)`` uint8 images.
        labels (list[str]): One caption per image.
        gap (int): Width of the white separators in pixels. Defaults to 4.

    Returns:
        np.ndarray: ``(H, n * W + (n - 1) * gap, 3)`` uint8 image.
    """
    sep = np.full((images[0].shape[0], gap, 3), 255, dtype=np.uint8)
    parts = []
    for i, (img, text) in enumerate(zip(images, labels)):
        if i:
            parts.append(sep)
        parts.append(_label(img, text))
    return np.concatenate(parts, axis=1)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    for kind, path in (('Checkpoint', args.checkpoint), ('Config',
                                                         args.config)):
        if not osp.isfile(path):
            print(
                f'error: {kind} file not found: {path}\n'
                'Run the demo from the repository root, or pass --config '
                'and --checkpoint.',
                file=sys.stderr)
            return 1

    import mmcv

    from mmderain.apis import derain_image, init_derainer
    from mmderain.datasets.transforms.rain_synthesis import synthesize_rain
    from mmderain.evaluation.functional import calculate_psnr, calculate_ssim

    start = time.time()
    model = init_derainer(args.config, args.checkpoint, device=args.device)
    rows = []
    for name in args.images:
        clean = load_sample(name, args.max_size)
        rng = np.random.default_rng([args.seed, zlib.crc32(name.encode())])
        rainy, _ = synthesize_rain(clean, rng=rng, **RAIN_PARAMS)
        derained = derain_image(model, rainy, channel_order='rgb')
        scores = [
            f(img, clean, convert_to='Y', channel_order='RGB')
            for img in (rainy, derained)
            for f in (calculate_psnr, calculate_ssim)
        ]
        rows.append((name, *scores))
        canvas = side_by_side([clean, rainy, derained],
                              ['clean', 'rainy', 'derained'])
        mmcv.imwrite(canvas[..., ::-1], osp.join(args.out_dir, f'{name}.png'))

    header = (f'{"image":<12}{"rainy PSNR":>11}{"SSIM":>8}'
              f'{"derained PSNR":>15}{"SSIM":>8}')
    print(header)
    print('-' * len(header))
    for name, *vals in rows + [('mean', *np.mean([r[1:] for r in rows], 0))]:
        if name == 'mean':
            print('-' * len(header))
        print(f'{name:<12}{vals[0]:>11.2f}{vals[1]:>8.4f}'
              f'{vals[2]:>15.2f}{vals[3]:>8.4f}')
    print(f'\nPSNR (dB) / SSIM on the Y channel against the clean photo; '
          f'{len(rows)} image(s) in {time.time() - start:.1f} s.')
    print(f'clean | rainy | derained images written to {args.out_dir}/')
    return 0


if __name__ == '__main__':
    sys.exit(main())
