# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's NSS: our compiled kernel vs the official ``sdr.py`` loops.

The official ``Rain2Avoid(Single)/sdr.py`` replaces every rain pixel in
pure Python: for each pixel it copies the whole LDGP mask, binarises the
copy again for every patch it builds, fills the patches element by element,
and reseeds NumPy before calling ``np.random.choice``. :func:`official_nss`
below is a faithful port of those loops (our own writing, the same work);
``--official-repo PATH`` runs the real ``compute_similarity`` of
``PATH/Rain2Avoid(Single)/sdr.py`` instead (its functions are taken from
the file without running the script). Ours is :func:`mmderain.ops.nss`
(the compiled CPU kernel, or CUDA with ``--device cuda``).

The script checks that both give the same references and fused image, then
prints the official time (one run: it takes ~30 s on the default image)
and ours (median (min-max) of ``--repeats`` runs) and their ratio.

Default input: the Rain2Avoid crop (top-left 320 x 480) of Rain100L test
image ``norain-3`` with its official LDGP mask, from ``$MMDERAIN_DATA``
(``rain100l/test/rain/norain-N.png``, ``rain2avoid/ldgp_official/N.png``).

Example::

    python benchmarks/bench_nss.py                    # full crop, ~30 s
    python benchmarks/bench_nss.py --crop 64x96       # quick
    python benchmarks/bench_nss.py --official-repo /path/to/Rain2Avoid
"""
import argparse
import ast
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks._timing import time_runs  # noqa: E402
from mmderain.ops import fuse_sdrs, nss  # noqa: E402

# ---------------------------------------------------------------------------
# the official algorithm, ported loop for loop


def _official_patch(image, ldgp, j, i, size, centre):
    """``get_mask_and_size``: grow the window while it is all rain, then
    fill the patch (and, for the centre, the mask) element by element.

    ``ldgp`` is binarised in place, as the official code does on every
    call.
    """
    h, w = ldgp.shape
    ldgp[ldgp > 0] = 1
    while True:
        half = size // 2
        window = ldgp[max(j - half, 0):min(j + half + 1, h),
                      max(i - half, 0):min(i + half + 1, w)]
        if not np.all(window > 0):
            break
        size += 2
    rain_mask = np.zeros((size, size))
    values = np.zeros((size, size, image.shape[2]))
    for a in range(size):
        for b in range(size):
            y, x = a - half + j, b - half + i
            if y < 0 or y > h - 1 or x < 0 or x > w - 1:
                continue
            if centre:
                rain_mask[a][b] = ldgp[y, x]
            values[a, b, :] = image[y, x, :]
    return values, 1 - rain_mask, size


def _official_similarity(image, ldgp, j, i, eta, window, sim_window):
    """``compute_similarity``: candidates and their probabilities."""
    h, w = ldgp.shape
    centre, mask, size = _official_patch(image, ldgp, j, i, sim_window, True)
    centre = (np.transpose(centre, (2, 0, 1)) * mask).transpose(1, 2, 0)
    centre = centre.flatten()
    half = max(window, 3) // 2
    candidates, weights = [], []
    for y in range(max(j - half, 0), min(j + half + 1, h)):
        for x in range(max(i - half, 0), min(i + half + 1, w)):
            if ldgp[y, x] == 0:
                candidates.append((y, x))
                other = _official_patch(image, ldgp, y, x, size, False)[0]
                other = (np.transpose(other, (2, 0, 1)) * mask).transpose(
                    1, 2, 0).flatten()
                dist = np.sum(np.abs(centre - other))
                weights.append(1 / (max(dist**eta, 1e-4)))
    weights = np.array(weights).astype(np.float32)
    return candidates, weights / weights.sum()


def official_nss(image: np.ndarray,
                 ldgp: np.ndarray,
                 num: int = 50,
                 eta: float = 0.5,
                 threshold: int = 10,
                 window: int = 7,
                 sim_window: int = 3,
                 seed: int = 0,
                 similarity: Optional[Callable] = None) -> np.ndarray:
    """The main loop of the official ``sdr.py`` (float64 references).

    Args:
        image (ndarray): H x W x C uint8 image.
        ldgp (ndarray): H x W uint8 LDGP mask.
        num, eta, threshold, window, sim_window, seed: As
            :func:`mmderain.ops.nss` (the official seed is 0).
        similarity (callable, optional): ``(image, ldgp, j, i) ->
            (candidates, p)``; defaults to the port above.

    Returns:
        ndarray: num x H x W x C float64 references.
    """
    if similarity is None:

        def similarity(img, mask, j, i):
            return _official_similarity(img, mask, j, i, eta, window,
                                        sim_window)

    out = np.zeros((num, ) + image.shape)
    out[:] = image
    h, w = ldgp.shape
    for j in range(h):
        for i in range(w):
            if ldgp[j, i] > threshold:
                candidates, p = similarity(image, ldgp.copy(), j, i)
                try:
                    np.random.seed(seed)
                    picks = np.random.choice(len(candidates), num, p=p)
                    for k in range(num):
                        y, x = candidates[picks[k]]
                        out[k, j, i, :] = image[y, x, :]
                except ValueError:  # no candidate: the pixel is kept
                    pass
    return out


def load_official_similarity(repo: str, eta: float, window: int,
                             sim_window: int) -> Callable:
    """``compute_similarity`` of the official ``sdr.py``, without running
    the script: its function definitions are executed with ``opt`` set to
    the given flags.

    Raises:
        FileNotFoundError: If ``sdr.py`` is not in ``repo``.
    """
    path = osp.join(repo, 'Rain2Avoid(Single)', 'sdr.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'official script not found: {path}')
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    scope = dict(
        np=np, opt=argparse.Namespace(k=sim_window, K=window, pow=eta))
    exec(compile(tree, path, 'exec'), scope)
    return scope['compute_similarity']


# ---------------------------------------------------------------------------


def _parse_size(text: str) -> Tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected HxW, got {text!r}')
    return h, w


def load_inputs(args) -> Tuple[np.ndarray, np.ndarray, str]:
    """The image, its mask and a description."""
    if args.synthetic is not None:
        h, w = args.synthetic
        rng = np.random.default_rng(0)
        image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        ldgp = np.where(rng.random((h, w)) < 0.3, 255, 0).astype(np.uint8)
        ldgp[h // 3:h // 3 + 5, w // 3:w // 3 + 4] = 255  # dense rain
        return image, ldgp, f'synthetic {h}x{w}'
    data = args.data or os.environ.get('MMDERAIN_DATA')
    if not data:
        raise SystemExit('set MMDERAIN_DATA (or --data), or use --synthetic')
    rain_path = osp.join(data, 'rain100l', 'test', 'rain',
                         f'norain-{args.image}.png')
    ldgp_path = osp.join(data, 'rain2avoid', 'ldgp_official',
                         f'{args.image}.png')
    image = cv2.imread(rain_path)
    ldgp = cv2.imread(ldgp_path, cv2.IMREAD_GRAYSCALE)
    for path, arr in ((rain_path, image), (ldgp_path, ldgp)):
        if arr is None:
            raise SystemExit(f'cannot read {path}')
    h, w = ldgp.shape  # the Rain2Avoid crop
    if args.crop is not None:
        h, w = min(h, args.crop[0]), min(w, args.crop[1])
    image = np.ascontiguousarray(image[:h, :w])
    ldgp = np.ascontiguousarray(ldgp[:h, :w])
    return image, ldgp, f'norain-{args.image} {h}x{w}'


def main(argv=None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers."""
    parser = argparse.ArgumentParser(
        description='Rain2Avoid NSS: ours vs the official loops')
    parser.add_argument('--data', help='data root (default $MMDERAIN_DATA)')
    parser.add_argument(
        '--image', type=int, default=3, help='Rain100L test image N')
    parser.add_argument(
        '--crop',
        type=_parse_size,
        help='top-left HxW crop (default: 320x480)')
    parser.add_argument(
        '--synthetic',
        type=_parse_size,
        help='a random HxW image and mask instead')
    parser.add_argument(
        '--official-repo',
        help='run the real compute_similarity of this '
        'Rain2Avoid checkout')
    parser.add_argument('--num', type=int, default=50)
    parser.add_argument('--eta', type=float, default=0.5)
    parser.add_argument('--threshold', type=int, default=10)
    parser.add_argument('--window', type=int, default=7)
    parser.add_argument('--sim-window', type=int, default=3)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    args = parser.parse_args(argv)
    image, ldgp, what = load_inputs(args)
    kw = dict(
        num=args.num,
        eta=args.eta,
        threshold=args.threshold,
        window=args.window,
        sim_window=args.sim_window)

    similarity = None
    if args.official_repo:
        similarity = load_official_similarity(args.official_repo, args.eta,
                                              args.window, args.sim_window)
    start = time.perf_counter()
    official = official_nss(image, ldgp, similarity=similarity, **kw)
    official_s = time.perf_counter() - start
    official_fused = fuse_sdrs(official)

    device = torch.device(args.device)
    img_t = torch.from_numpy(image).to(device)
    ldgp_t = torch.from_numpy(ldgp).to(device)

    def ours():
        return nss(img_t, ldgp_t, return_fused=True, **kw)

    out, fused = ours()
    equal = bool(
        np.array_equal(out.cpu().numpy(), official)
        and np.array_equal(fused.cpu().numpy(), official_fused))
    timing = time_runs(ours, device, args.warmup, args.repeats)

    replaced = int((ldgp > args.threshold).sum())
    source = 'official sdr.py' if args.official_repo else 'port of sdr.py'
    print(f'NSS on {what}: {replaced} pixels to replace, {args.num} '
          f'references, eta {args.eta}, {torch.get_num_threads()} threads')
    print(f'official ({source}), one run: {official_s:10.3f} s')
    print(f'ours ({args.device}), median (min-max) of {timing.runs} runs: '
          f'{timing.ms()}')
    ratio = official_s / timing.median
    print(f'ratio official/ours: {ratio:.0f}x')
    print(f'outputs equal (references and fused): {equal}')
    return dict(
        equal=equal,
        official_s=official_s,
        **timing.as_dict('ours'),
        runs=timing.runs,
        official_over_ours=ratio,
        replaced=replaced,
        threads=torch.get_num_threads(),
        official_source=source)


if __name__ == '__main__':
    result = main()
    sys.exit(0 if result['equal'] else 1)
