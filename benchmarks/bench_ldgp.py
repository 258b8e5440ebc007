# Copyright (c) mmderain contributors. All rights reserved.
"""LDGP: the official Rain2Avoid ``ldgp.py`` vs :func:`mmderain.ops.ldgp`.

The official script computes, for every ``P x P`` patch, a grey copy, a new
``cv2.HOGDescriptor``, the block averaging with NumPy slices, the 36 bin
sums with a Python triple loop over NumPy scalars, and draws a
``matplotlib`` bar chart of the histogram (``plt.bar``, ``plt.xticks``,
``plt.cla``; nothing is shown or saved, but the drawing is what the script
costs); then the mode of the patch angles, two rotations, the adaptive
threshold (also rotated back for its ``bf/`` output) and the vertical
opening. :func:`official_ldgp` is a port of that per-image work, drawing
included (Agg backend), without the file reading and writing. With
``--official-repo PATH`` the official ``hog``, ``most_frequent`` and
``rotate`` are imported from ``PATH/Rain2Avoid(Single)/ldgp.py`` instead
(its ``argparse`` sees only the script name) and composed as its main
loop.

Both run in this process on the same image (``--image``, else a seeded
synthetic rainy image of ``--size``), cropped to multiples of
``--multiple`` (16: the Rain2Avoid protocol, Rain100L 321x481 -> 320x480).
The official path runs once (it is slow) after ``--official-warmup``
untimed runs (the first creates matplotlib's figure, once per process in
the official script); ours is the median (min-max) of ``--repeats`` runs.
The two masks are checked to be equal, pixel for pixel.

Example::

    python benchmarks/bench_ldgp.py \\
        --image ../shared/data/rain100l/test/rain/norain-1.png
"""
import argparse
import importlib.util
import math
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks._timing import time_runs  # noqa: E402
from mmderain.datasets.transforms import crop_to_multiple  # noqa: E402
from mmderain.ops import dominant_angle, ldgp  # noqa: E402

#: The official bar colours (cycled over the 36 bars).
BAR_COLORS = [
    'lightsteelblue', 'cornflowerblue', 'royalblue', 'midnightblue', 'navy',
    'darkblue', 'mediumblue'
]


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def official_hog_bin(patch: np.ndarray) -> int:
    """Port of the official ``hog(patch, show=False, save='')``.

    Args:
        patch (np.ndarray): BGR uint8 patch.

    Returns:
        int: The first maximal bin of the patch's 36-bin histogram.
    """
    plt = _pyplot()
    gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY)
    cells_x, cells_y = gray.shape[1] // 8, gray.shape[0] // 8
    descriptor = cv2.HOGDescriptor((cells_x * 8, cells_y * 8), (32, 32),
                                   (8, 8), (8, 8), 36).compute(gray)
    blocks_x, blocks_y = cells_x - 3, cells_y - 3
    plt.rcParams['figure.figsize'] = [9.8, 9]
    blocks = descriptor.reshape(blocks_x, blocks_y, 4, 4,
                                36).transpose(1, 0, 2, 3, 4)
    mean = np.zeros((cells_y, cells_x, 36))
    hits = np.zeros((cells_y, cells_x, 1))
    for i in range(4):
        for j in range(4):
            mean[i:blocks_y + i, j:blocks_x + j] += blocks[:, :, i, j, :]
            hits[i:blocks_y + i, j:blocks_x + j] += 1
    mean /= hits
    sums = [0] * 36
    for b in range(36):
        for row in range(mean.shape[0]):
            for col in range(mean.shape[1]):
                sums[b] += mean[row][col][b]
    plt.bar([5.0 * b for b in range(36)],
            sums,
            width=5.0,
            bottom=None,
            align='center',
            color=BAR_COLORS)
    plt.xticks(rotation='vertical')
    plt.cla()
    return sums.index(max(sums))


def official_mode(values: List[int]) -> int:
    """Port of the official ``most_frequent``."""
    return max(set(values), key=values.count)


def official_rotate(img: np.ndarray, theta: float) -> np.ndarray:
    """Port of the official ``rotate`` (enlarged canvas, white border)."""
    rows, cols = img.shape[0], img.shape[1]
    cx, cy = cols / 2, rows / 2
    mat = cv2.getRotationMatrix2D((cx, cy), theta, 1)
    cos, sin = abs(mat[0, 0]), abs(mat[0, 1])
    width = int(rows * sin + cols * cos)
    height = int(rows * cos + cols * sin)
    mat[0, 2] += width / 2 - cx
    mat[1, 2] += height / 2 - cy
    return cv2.warpAffine(
        img, mat, (width, height), borderValue=(255, 255, 255))


def official_ldgp(image: np.ndarray,
                  patch_size: int = 80,
                  kernel_size: int = 10,
                  hog_bin: Callable = official_hog_bin,
                  mode: Callable = official_mode,
                  rotate: Callable = official_rotate) -> np.ndarray:
    """The official main loop's work on one image (no file I/O).

    Args:
        image (np.ndarray): BGR uint8 image.
        patch_size (int): ``--patch_size``. Defaults to 80.
        kernel_size (int): ``--kernel_size``. Defaults to 10.
        hog_bin, mode, rotate (Callable): The official ``hog`` (patch ->
            bin), ``most_frequent`` and ``rotate``; the ports by default.

    Returns:
        np.ndarray: The mask the official script writes to ``ldgp/``.
    """
    height, width = image.shape[0], image.shape[1]
    angles = []
    for x in range(int(width / patch_size)):
        for y in range(int(height / patch_size)):
            rows = slice(patch_size * y, patch_size * (y + 1))
            cols = slice(patch_size * x, patch_size * (x + 1))
            angles.append(5 * hog_bin(image[rows, cols]))
    angle = mode(angles)
    if angle in (90, 85):
        angle = 0
    elif angle > 90:
        angle -= 180
    rad = math.radians(abs(angle))
    left = math.floor(height * math.cos(rad) * math.sin(rad))
    top = math.floor(width * math.sin(rad) * math.cos(rad))
    grey = cv2.cvtColor(rotate(image, angle), cv2.COLOR_BGR2GRAY)
    bright = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                   cv2.THRESH_BINARY, 5, 0)
    # the official ``bf/`` output: computed (and written) for every image
    rotate(bright, -angle)[top:top + height, left:left + width]
    line = cv2.getStructuringElement(cv2.MORPH_RECT, (1, kernel_size))
    runs = cv2.dilate(cv2.erode(np.copy(bright), line), line)
    return rotate(runs, -angle)[top:top + height, left:left + width]


def load_official(repo: str) -> Dict[str, Callable]:
    """The official ``hog``/``most_frequent``/``rotate`` as the keyword
    arguments of :func:`official_ldgp`.

    Args:
        repo (str): The official repository (or its ``ldgp.py``).

    Returns:
        dict[str, Callable]: ``hog_bin``, ``mode`` and ``rotate``.

    Raises:
        FileNotFoundError: If ``ldgp.py`` is not there.
    """
    path = repo if repo.endswith('.py') else osp.join(
        repo, 'Rain2Avoid(Single)', 'ldgp.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'--official-repo: {path} not found (give the repository root '
            'or its ldgp.py)')
    _pyplot()  # Agg before the script imports pyplot
    spec = importlib.util.spec_from_file_location('_r2a_official_ldgp', path)
    module = importlib.util.module_from_spec(spec)
    argv = sys.argv
    sys.argv = [path]  # it parses the command line at import
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    return dict(
        hog_bin=lambda patch: module.hog(patch, show=False, save=''),
        mode=module.most_frequent,
        rotate=module.rotate)


def synthetic_rainy_image(height: int,
                          width: int,
                          seed: int = 0) -> np.ndarray:
    """A smooth random background with bright streaks 20 degrees off the
    vertical and mild noise (BGR uint8)."""
    rng = np.random.default_rng(seed)
    background = cv2.resize(
        rng.uniform(40, 180, (height // 16 + 2, width // 16 + 2, 3)),
        (width, height),
        interpolation=cv2.INTER_CUBIC)
    y, x = np.mgrid[:height, :width].astype(float)
    t = np.radians(160)  # gradient angle; streaks 20 degrees off vertical
    across = x * np.cos(t) + y * np.sin(t) + rng.uniform(0, 11)
    dist = np.abs((across + 5.5) % 11 - 5.5)
    streak = 90 * np.exp(-dist**2 / 2) * (rng.random((height, width)) < 0.9)
    img = background + streak[..., None] + rng.normal(0, 3, background.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers.

    Returns:
        dict: ``height``, ``width``, ``angle`` (the dominant gradient
        angle), ``official_s`` (one run), ``ours_s`` (median),
        ``ours_s_min``, ``ours_s_max``, ``runs``, ``time_ratio`` (official
        / ours) and ``mask_diff_pixels`` (0).

    Raises:
        AssertionError: If the two masks differ.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image', help='image file (default: synthetic)')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(320, 480),
        metavar=('H', 'W'),
        help='size of the synthetic image')
    parser.add_argument('--multiple', type=int, default=16)
    parser.add_argument('--patch-size', type=int, default=80)
    parser.add_argument('--kernel-size', type=int, default=10)
    parser.add_argument('--official-repo', help='time the official code')
    parser.add_argument('--official-warmup', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args(argv)

    if args.image:
        image = cv2.imread(args.image, cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'--image: cannot read {args.image}')
    else:
        image = synthetic_rainy_image(*args.size)
    image = np.ascontiguousarray(crop_to_multiple(image, args.multiple))
    official = load_official(args.official_repo) if args.official_repo else {}
    which = (f'official code ({args.official_repo})'
             if official else 'port of the official code')

    def run_official():
        return official_ldgp(image, args.patch_size, args.kernel_size,
                             **official)

    def run_ours():
        return ldgp(image, args.patch_size, args.kernel_size)

    for _ in range(args.official_warmup):
        run_official()
    start = time.perf_counter()
    mask_official = run_official()
    official_s = time.perf_counter() - start
    mask_ours = run_ours()
    diff = int(np.count_nonzero(mask_ours != mask_official)
               ) if mask_ours.shape == mask_official.shape else -1
    if diff:
        raise AssertionError(
            f'masks differ: {diff} pixels' if diff > 0 else
            f'mask shapes differ: ours {mask_ours.shape}, official '
            f'{mask_official.shape}')
    ours = time_runs(run_ours, torch.device('cpu'), args.warmup, args.repeats)
    height, width = image.shape[:2]
    angle = dominant_angle(image, args.patch_size)
    result = dict(
        height=height,
        width=width,
        angle=angle,
        official_s=official_s,
        **ours.as_dict('ours'),
        runs=ours.runs,
        time_ratio=official_s / ours.median,
        mask_diff_pixels=diff)
    print(f'{args.image or "synthetic image"}: {height}x{width}, patch '
          f'{args.patch_size}, kernel {args.kernel_size}, dominant angle '
          f'{angle}; masks equal')
    print(f'official ({which}), one run: {official_s * 1e3:9.2f} ms')
    print(f'ours, median (min-max) of {ours.runs} runs: {ours.ms()}')
    print(f'ratio official / ours: {result["time_ratio"]:.1f}x')
    return result


if __name__ == '__main__':
    main()
