# Copyright (c) mmderain contributors. All rights reserved.
"""Plot the training curves MMEngine logged for a run.

Reads ``<work_dir>/<timestamp>/vis_data/scalars.json`` (the newest run of a
work dir, or a given ``scalars.json``) and saves one panel per key, against
the iteration, to a PNG.

Examples:
    python tools/analysis/plot_scalars.py work_dirs/vrgnet_b8-p64-2k_rain100l
    python tools/analysis/plot_scalars.py work_dirs/my_run \
        --keys loss_kl_b loss_adv PSNR --log loss_kl_b --out curves.png
"""
import argparse
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

Series = Dict[str, Tuple[List[float], List[float]]]


def find_scalars(path: str) -> str:
    """The ``scalars.json`` of ``path`` (a file, or a work dir's newest run).

    Raises:
        FileNotFoundError: If there is none.
    """
    if osp.isfile(path):
        return path
    found = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'no <timestamp>/vis_data/scalars.json under {path}: expected an '
            'MMEngine work dir (or give the scalars.json itself)')
    return found[-1]


def load_scalars(path: str) -> Series:
    """Read a ``scalars.json`` into ``{key: (steps, values)}``.

    Every line is one JSON record with a ``step``; numeric keys other than
    ``step``/``iter``/``epoch`` become series. Validation records of
    iteration-based runs carry MMEngine's epoch counter as ``step``
    (``LoggerHook(log_metric_by_epoch=True)``, the default: 0 in every
    record); records without ``iter`` whose ``step`` is behind the last
    training iteration are placed at that iteration, where they were
    logged.

    Raises:
        ValueError: If a line is not JSON (its number is given).
    """
    series: Series = {}
    last_iter = None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{lineno}: not JSON ({e})') from e
            step = rec.get('step', rec.get('iter'))
            if 'iter' in rec:
                last_iter = step
            elif last_iter is not None and step is not None \
                    and step < last_iter:
                step = last_iter
            for key, value in rec.items():
                if key in ('step', 'iter',
                           'epoch') or not isinstance(value, (int, float)):
                    continue
                xs, ys = series.setdefault(key, ([], []))
                xs.append(step)
                ys.append(float(value))
    return series


def plot_scalars(series: Series,
                 keys: Sequence[str],
                 out: str,
                 log_keys: Sequence[str] = (),
                 title: Optional[str] = None) -> str:
    """Save one panel per key of ``series`` to ``out`` (PNG).

    Raises:
        KeyError: If a key was not logged (the logged keys are listed).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    missing = [k for k in keys if k not in series]
    if missing:
        raise KeyError(f'not logged: {missing}; logged keys: '
                       f'{sorted(series)}')
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        xs, ys = series[key]
        ax.plot(xs, ys, marker='.' if len(xs) < 20 else None, lw=1)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel('iteration', fontsize=8)
        ax.grid(alpha=0.3)
        if key in log_keys and min(ys) > 0:
            ax.set_yscale('log')
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None) -> str:
    """Command-line entry point; returns the PNG path."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('path', help='work dir or scalars.json')
    parser.add_argument(
        '--keys',
        nargs='+',
        help='keys to plot (default: every loss*, mse, PSNR and SSIM key)')
    parser.add_argument(
        '--log', nargs='*', default=(), help='keys plotted on a log scale')
    parser.add_argument(
        '--out', help='output PNG (default: curves.png next to the json)')
    args = parser.parse_args(argv)
    path = find_scalars(args.path)
    series = load_scalars(path)
    keys = args.keys or [
        k
        for k in series if k.startswith('loss') or k in ('mse', 'PSNR', 'SSIM')
    ]
    if not keys:
        raise KeyError(f'{path}: nothing to plot; logged keys: '
                       f'{sorted(series)}')
    out = args.out or osp.join(osp.dirname(path), 'curves.png')
    plot_scalars(series, keys, out, args.log, title=path)
    print(f'{len(keys)} curves -> {out}')
    return out


if __name__ == '__main__':
    main()
