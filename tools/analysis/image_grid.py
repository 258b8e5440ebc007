# Copyright (c) mmderain contributors. All rights reserved.
"""Put the same images from several folders side by side, labelled.

One row per image stem, one column per folder (e.g. the rainy photos and
the outputs of several models written by ``tools/derain.py``); each tile is
resized to ``--width`` pixels wide and the column labels are drawn on a
band above the first row. Images are paired by file stem (``3.jpg`` with
``3.png``); a stem missing from a folder is an error naming both.

Example:
    python tools/analysis/image_grid.py \\
        --columns rainy=data/real_internet teacher=out/teacher \\
        --stems 1 17 89 --out docs/figures/ssidkd/real_internet.jpg
"""
import argparse
import os
import os.path as osp
import tempfile
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from mmderain.datasets.transforms import read_image
from mmderain.utils.path import IMG_EXTENSIONS

_BAND = 28  # pixels of the label band


def _find(folder: str, stem: str) -> str:
    for name in sorted(os.listdir(folder)):
        base, ext = osp.splitext(name)
        if base == stem and ext.lower() in IMG_EXTENSIONS:
            return osp.join(folder, name)
    raise FileNotFoundError(f'no image {stem}.* in {folder}')


def _tile(path: str, width: int) -> np.ndarray:
    img = read_image(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    height = max(1, round(h * width / w))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def image_grid(columns: Sequence[Tuple[str, str]],
               stems: Sequence[str],
               width: int = 320,
               gap: int = 4) -> np.ndarray:
    """The labelled grid (BGR uint8).

    Args:
        columns (Sequence[tuple[str, str]]): ``(label, folder)`` pairs.
        stems (Sequence[str]): File stems, one row each.
        width (int): Width of every tile in pixels.
        gap (int): White pixels between tiles.

    Returns:
        ndarray: The grid image.

    Raises:
        FileNotFoundError: If a folder lacks a stem (named).
    """
    if not columns or not stems:
        raise ValueError('image_grid needs at least one column and one stem')
    rows = []
    for stem in stems:
        tiles = [_tile(_find(folder, stem), width) for _, folder in columns]
        height = max(t.shape[0] for t in tiles)
        row = np.full((height, len(tiles) * (width + gap) - gap, 3),
                      255,
                      dtype=np.uint8)
        for k, t in enumerate(tiles):
            x = k * (width + gap)
            row[:t.shape[0], x:x + width] = t
        rows.append(row)
    band = np.full((_BAND, rows[0].shape[1], 3), 255, dtype=np.uint8)
    for k, (label, _) in enumerate(columns):
        cv2.putText(band, label, (k * (width + gap) + 6, _BAND - 9),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    parts: List[np.ndarray] = [band]
    for row in rows:
        parts += [np.full((gap, row.shape[1], 3), 255, np.uint8), row]
    return np.concatenate(parts, 0)


def _column(text: str) -> Tuple[str, str]:
    label, sep, folder = text.partition('=')
    if not sep or not label or not folder:
        raise argparse.ArgumentTypeError(
            f'expected LABEL=FOLDER, got {text!r}')
    return label, folder


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--columns',
        nargs='+',
        type=_column,
        required=True,
        help='LABEL=FOLDER, one per column')
    parser.add_argument(
        '--stems', nargs='+', required=True, help='image stems, one per row')
    parser.add_argument('--width', type=int, default=320, help='tile width')
    parser.add_argument(
        '--out', required=True, help='output image (.png or .jpg)')
    args = parser.parse_args(argv)
    grid = image_grid(args.columns, args.stems, args.width)
    folder = osp.dirname(osp.abspath(args.out))
    os.makedirs(folder, exist_ok=True)
    ext = osp.splitext(args.out)[1] or '.png'
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=ext)
    os.close(fd)
    try:
        if not cv2.imwrite(tmp, grid, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise OSError(f'could not write {args.out}')
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private
        os.replace(tmp, args.out)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise
    print(f'{args.out}: {len(args.stems)} rows x {len(args.columns)} '
          f'columns ({grid.shape[1]}x{grid.shape[0]})')
    return args.out


if __name__ == '__main__':
    main()
