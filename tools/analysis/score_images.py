# Copyright (c) mmderain contributors. All rights reserved.
"""Score a folder of derained images against the clean images, or alone.

PSNR and SSIM with the field's protocol (MATLAB ``rgb2ycbcr`` Y of
``im2double`` images, SSIM with an 11x11 Gaussian window, 'valid'
filtering; see :mod:`mmderain.evaluation.functional`), per image and on
average. Images are paired by file stem (``3.png`` with ``3.jpg``); an
alpha channel (e.g. of images written by ``plt.imsave``) is dropped; with
``--crop-to-pred`` the clean image is cropped to the top-left corner of
the prediction's size (for outputs of cropped inputs). With ``--niqe``
the no-reference NIQE of MATLAB's ``niqe_release`` is added; with
``--rgb`` also PSNR/SSIM over the three RGB channels (``RGB/PSNR``,
``RGB/SSIM``: what official scripts that skip the Y conversion report) (see
:mod:`mmderain.evaluation.niqe`); without a clean folder it is the only
score, e.g. of real rainy photos or of their derained outputs. A
prediction without a clean image, of another size, too small for NIQE or
unreadable is reported by name, the others are scored, and the exit status
is 1. Each image's scores are printed as it is scored.

Examples:
    python tools/analysis/score_images.py \
        data/rain2avoid/rain100l/sdr/fused data/rain2avoid/rain100l/norain \
        --out fused_scores.json
    python tools/analysis/score_images.py data/real_internet --niqe
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmderain.datasets.transforms import read_image
from mmderain.evaluation.functional import calculate_psnr, calculate_ssim
from mmderain.evaluation.niqe import calculate_niqe
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


def _format(values: Dict[str, float]) -> str:
    return ' '.join(f'{k} {v:.4f}' for k, v in values.items())


def score(
    pred_dir: str,
    gt_dir: Optional[str] = None,
    crop_to_pred: bool = False,
    niqe: bool = False,
    verbose: bool = False,
    rgb: bool = False
) -> Tuple[Dict[str, Dict[str, float]], List[Tuple[str, str]]]:
    """PSNR/SSIM (with ``gt_dir``) and NIQE (``niqe``) of every image.

    Args:
        pred_dir (str): Folder of the scored images.
        gt_dir (str, optional): Folder of the clean images (same stems);
            None: no PSNR/SSIM.
        crop_to_pred (bool): Crop the clean images to the prediction size.
        niqe (bool): Add the NIQE of every image.
        rgb (bool): With ``gt_dir``, add PSNR/SSIM over the RGB channels
            (``RGB/PSNR``, ``RGB/SSIM``).
        verbose (bool): Print each image's scores as it is scored.

    Returns:
        tuple: ``{stem: {'PSNR': ..., 'SSIM': ..., 'NIQE': ...}}`` and
        ``[(stem, reason)]``.

    Raises:
        FileNotFoundError: If a folder is missing or ``pred_dir`` holds no
            image.
        ValueError: If neither ``gt_dir`` nor ``niqe`` asks for a score.
    """
    if gt_dir is None and not niqe:
        raise ValueError('nothing to score: give a clean folder or --niqe')
    preds = _images(pred_dir)
    gts = _images(gt_dir) if gt_dir is not None else {}
    if not preds:
        raise FileNotFoundError(f'no image in {pred_dir}')
    scores, failures = {}, []
    stems = sorted(preds, key=natural_sort_key)
    for i, stem in enumerate(stems, 1):
        try:
            pred, values = _read(preds[stem]), {}
            if gt_dir is not None:
                if stem not in gts:
                    raise FileNotFoundError(
                        f'no clean image {stem}.* in {gt_dir}')
                gt = _read(gts[stem])
                if crop_to_pred:
                    gt = gt[:pred.shape[0], :pred.shape[1]]
                if pred.shape != gt.shape:
                    raise ValueError(
                        f'{preds[stem]} is {pred.shape[1]}x{pred.shape[0]}, '
                        f'{gts[stem]} is {gt.shape[1]}x{gt.shape[0]}')
                values.update(
                    PSNR=calculate_psnr(pred, gt, channel_order='BGR'),
                    SSIM=calculate_ssim(pred, gt, channel_order='BGR'))
                if rgb:
                    values['RGB/PSNR'] = calculate_psnr(
                        pred, gt, convert_to=None, channel_order='BGR')
                    values['RGB/SSIM'] = calculate_ssim(
                        pred, gt, convert_to=None, channel_order='BGR')
            if niqe:
                try:
                    values['NIQE'] = calculate_niqe(pred, channel_order='BGR')
                except ValueError as err:
                    raise ValueError(f'{preds[stem]}: {err}') from err
            scores[stem] = values
            if verbose:
                print(
                    f'[{i}/{len(stems)}] {stem}: {_format(values)}',
                    flush=True)
        except (OSError, ValueError) as err:
            failures.append((stem, str(err)))
            if verbose:
                print(f'[{i}/{len(stems)}] {stem}: FAILED {err}', flush=True)
    return scores, failures


def _write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, renamed)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None) -> Dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pred_dir', help='derained (or rainy) images')
    parser.add_argument(
        'gt_dir',
        nargs='?',
        help='clean images (same stems), for PSNR/SSIM; optional with '
        '--niqe')
    parser.add_argument(
        '--crop-to-pred',
        action='store_true',
        help='crop the clean images to the top-left prediction size')
    parser.add_argument(
        '--niqe',
        action='store_true',
        help='add NIQE (MATLAB niqe_release, no reference needed)')
    parser.add_argument(
        '--rgb',
        action='store_true',
        help='also PSNR/SSIM over the RGB channels (with a clean folder)')
    parser.add_argument('--out', help='JSON with per-image and mean scores')
    args = parser.parse_args(argv)
    if args.gt_dir is None and not args.niqe:
        parser.error('give a clean folder (PSNR/SSIM) or --niqe')
    try:
        scores, failures = score(
            args.pred_dir,
            args.gt_dir,
            args.crop_to_pred,
            niqe=args.niqe,
            verbose=True,
            rgb=args.rgb)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    names = ([] if args.gt_dir is None else ['PSNR', 'SSIM'] +
             (['RGB/PSNR', 'RGB/SSIM'] if args.rgb else [])) + (
                 ['NIQE'] if args.niqe else [])
    mean = {k: float(np.mean([s[k] for s in scores.values()]))
            for k in names} if scores else {}
    if mean:
        print(f'mean of {len(scores)}: {_format(mean)}')
    if args.out:
        _write_json(
            args.out,
            dict(
                images=scores,
                mean=mean,
                failures=[dict(key=k, reason=r) for k, r in failures]))
    if failures:
        lines = '\n'.join(f'  {k}: {r}' for k, r in failures)
        sys.exit(f'error: {len(failures)} image(s) not scored:\n{lines}')
    return mean


if __name__ == '__main__':
    main()
