# Copyright (c) mmderain contributors. All rights reserved.
"""Plot the learning curves of a per-image SDRL run.

Reads the ``<key>.json`` files that ``PerImageTrainLoop`` writes to
``<work_dir>/per_image/`` and saves one row per image: the training loss
(MSE to the SDR of the step, with its running mean) and, where the image
has a clean counterpart, the PSNR of the eval-mode output at the evaluated
steps, with the PSNR of the fused SDR and of the rainy input as lines.

Example:
    python tools/rain2avoid/plot_curves.py work_dirs/sdrl_single/per_image \
        --out work_dirs/sdrl_single/curves.png
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import List

import numpy as np


def load_runs(folder: str) -> List[dict]:
    """The per-image logs of ``folder`` (sorted by key)."""
    paths = [
        p for p in glob.glob(osp.join(folder, '*.json'))
        if osp.basename(p) != 'summary.json'
    ]
    if not paths:
        raise FileNotFoundError(
            f'no <key>.json in {folder}: expected the per_image folder of a '
            'PerImageTrainLoop run')
    runs = []
    for path in paths:
        with open(path) as f:
            run = json.load(f)
        if 'loss' not in run or 'curve' not in run:
            raise ValueError(f'{path} is not a per-image log (no loss/curve)')
        runs.append(run)
    return sorted(runs, key=lambda r: str(r['key']))


def plot(runs: List[dict], out: str, window: int = 50) -> None:
    """Save the figure of ``runs`` to ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(
        len(runs), 2, figsize=(10, 3 * len(runs)), squeeze=False)
    for (ax_loss, ax_psnr), run in zip(axes, runs):
        loss = np.asarray(run['loss'])
        steps = np.arange(1, len(loss) + 1)
        ax_loss.plot(steps, loss, lw=0.5, alpha=0.4, label='step')
        if len(loss) >= window:
            mean = np.convolve(loss, np.ones(window) / window, mode='valid')
            ax_loss.plot(steps[window - 1:], mean, label=f'mean of {window}')
        ax_loss.set_yscale('log')
        ax_loss.set_title(f'{run["key"]}: MSE to the SDR')
        ax_loss.set_xlabel('step')
        ax_loss.legend()
        points = [c for c in run['curve'] if 'PSNR' in c]
        if points:
            ax_psnr.plot([c['step'] for c in points],
                         [c['PSNR'] for c in points],
                         'o-',
                         label='output')
            for which, style, label in (('fused_sdr', '--', 'fused SDR'),
                                        ('input', ':', 'rainy input')):
                value = run['metrics'].get(which, {}).get('PSNR')
                if value is not None:
                    ax_psnr.axhline(value, color='k', ls=style, label=label)
            ax_psnr.set_title(f'{run["key"]}: PSNR (Y) to the clean image')
            ax_psnr.set_xlabel('step')
            ax_psnr.legend()
        else:
            ax_psnr.set_axis_off()
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('folder', help='<work_dir>/per_image of the run')
    parser.add_argument('--out', help='PNG (default: FOLDER/curves.png)')
    parser.add_argument('--window', type=int, default=50)
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.folder)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    out = args.out or osp.join(args.folder, 'curves.png')
    plot(runs, out, args.window)
    print(f'saved {out} ({len(runs)} image(s))')


if __name__ == '__main__':
    main()
