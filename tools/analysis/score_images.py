# Copyright (c) mmderain contributors. All rights reserved.
"""Score a folder of derained images against the clean images.

PSNR and SSIM with the field's protocol (MATLAB ``rgb2ycbcr`` Y of
``im2double`` images, SSIM with an 11x11 Gaussian window, 'valid'
filtering; see :mod:`mmderain.evaluation.functional`), per image and on
average. Images are paired by file stem (``3.png`` with ``3.jpg``); an
alpha channel (e.g. of images written by ``plt.imsave``) is dropped; with
``--crop-to-pred`` the clean image is cropped to the top-left corner of
the prediction's size (for outputs of cropped inputs). A prediction
without a clean image, of another size or unreadable is reported by name,
the others are scored, and the exit status is 1.

Example:
    python tools/analysis/score_images.py \
        data/rain2avoid/rain100l/sdr/fused data/rain2avoid/rain100l/norain \
        --out fused_scores.json
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

import cv2
import numpy as np

from mmderain.datasets.transforms import read_image
from mmderain.evaluation.functional import calculate_psnr, calculate_ssim
from mmderain.utils.path import IMG_EXTENSIONS, natural_sort_key


def _images(folder: str) -> Dict[str, str]:
    if not osp.isdir(folder):
        raise FileNotFoundError(f'folder not found: {folder}')
    return {
        osp.splitext(name)[0]: osp.join(folder, name)
        for name in os.listdir(folder)
        if osp.splitext(name)[1].lower() in IMG_EXTENSIONS
    }


def _read(path: str) -> np.ndarray:
    img = read_image(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.dtype != np.uint8:
        raise ValueError(f'{path}: expected an 8-bit image, got {img.dtype}')
    return img[..., :3]


def score(
    pred_dir: str,
    gt_dir: str,
    crop_to_pred: bool = False
) -> Tuple[Dict[str, Dict[str, float]], List[Tuple[str, str]]]:
    """PSNR/SSIM of every prediction; and the failures.

    Returns:
        tuple: ``{stem: {'PSNR': ..., 'SSIM': ...}}`` and ``[(stem,
        reason)]``.
    """
    preds, gts = _images(pred_dir), _images(gt_dir)
    if not preds:
        raise FileNotFoundError(f'no image in {pred_dir}')
    scores, failures = {}, []
    for stem in sorted(preds, key=natural_sort_key):
        try:
            if stem not in gts:
                raise FileNotFoundError(f'no clean image {stem}.* in {gt_dir}')
            pred, gt = _read(preds[stem]), _read(gts[stem])
            if crop_to_pred:
                gt = gt[:pred.shape[0], :pred.shape[1]]
            if pred.shape != gt.shape:
                raise ValueError(
                    f'{preds[stem]} is {pred.shape[1]}x{pred.shape[0]}, '
                    f'{gts[stem]} is {gt.shape[1]}x{gt.shape[0]}')
            scores[stem] = dict(
                PSNR=calculate_psnr(pred, gt, channel_order='BGR'),
                SSIM=calculate_ssim(pred, gt, channel_order='BGR'))
        except (OSError, ValueError) as err:
            failures.append((stem, str(err)))
    return scores, failures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pred_dir', help='derained images')
    parser.add_argument('gt_dir', help='clean images (same stems)')
    parser.add_argument(
        '--crop-to-pred',
        action='store_true',
        help='crop the clean images to the top-left prediction size')
    parser.add_argument('--out', help='JSON with per-image and mean scores')
    args = parser.parse_args(argv)
    try:
        scores, failures = score(args.pred_dir, args.gt_dir, args.crop_to_pred)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    mean = {
        k: float(np.mean([s[k] for s in scores.values()]))
        for k in ('PSNR', 'SSIM')
    } if scores else {}
    for stem, values in scores.items():
        print(f'{stem}: PSNR {values["PSNR"]:.4f} SSIM {values["SSIM"]:.4f}')
    if mean:
        print(f'mean of {len(scores)}: PSNR {mean["PSNR"]:.4f} '
              f'SSIM {mean["SSIM"]:.4f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    images=scores,
                    mean=mean,
                    failures=[dict(key=k, reason=r) for k, r in failures]),
                f,
                indent=1)
    if failures:
        lines = '\n'.join(f'  {k}: {r}' for k, r in failures)
        sys.exit(f'error: {len(failures)} image(s) not scored:\n{lines}')


if __name__ == '__main__':
    main()
