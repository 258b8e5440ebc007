# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's LDGP rain masks of a folder of rainy images.

Writes, for every image directly in ``INPUT_DIR``, an 8-bit grey PNG mask
(255 = rain; values 1-254 along streak borders when the image was rotated)
computed by :func:`mmderain.ops.ldgp`, bit-exact with the official
``Rain2Avoid(Single)/ldgp.py``. The mask keeps the input's file name when
that is a ``.png`` (``7.png`` -> ``7.png``, as the official ``ldgp/``
folder); other images get their stem plus ``.png`` (``a.jpg`` ->
``a.png``), so masks are always lossless. Existing masks of the same name
in ``OUT_DIR`` are replaced (atomically); ``OUT_DIR`` must not be
``INPUT_DIR``.

The official protocol runs LDGP on the 320x480 crops of Rain100L
(``tools/rain2avoid/crop.py``). Images are read as 8-bit BGR like the
official ``cv2.imread`` (alpha dropped, grey expanded); an image smaller
than one patch, or unreadable, is reported by name and the others go on;
the exit status is then 1.

Example::

    python tools/rain2avoid/crop.py data/rain100l/test/rain \\
        data/rain100l_r2a/input --strip-prefix norain-
    python tools/rain2avoid/ldgp.py data/rain100l_r2a/input \\
        data/rain100l_r2a/ldgp
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import cv2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tools.rain2avoid._folder import map_folder  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='LDGP rain masks (Rain2Avoid) of the images of a '
        'folder: one 8-bit PNG per image, 255 = rain.')
    parser.add_argument('input_dir', help='folder of rainy images')
    parser.add_argument(
        'out_dir',
        help='folder of the masks (created; not INPUT_DIR); NAME.png keeps '
        'its name, other images give STEM.png')
    parser.add_argument(
        '--patch-size',
        type=int,
        default=80,
        help='side of the patches voting for the rain angle (>= 32; '
        'default: 80, official)')
    parser.add_argument(
        '--kernel-size',
        type=int,
        default=10,
        help='height of the vertical opening: shortest streak kept (>= 1; '
        'default: 10, official)')
    return parser.parse_args(argv)


def mask_name(name: str) -> str:
    """The mask's file name: ``name`` if it is a PNG (any case), else
    stem + ``.png``.

    Args:
        name (str): The input's file name.

    Returns:
        str: The output's file name.
    """
    stem, ext = osp.splitext(name)
    return name if ext.lower() == '.png' else stem + '.png'


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; returns the exit status (0 ok, 1 some image failed,
    2 bad arguments)."""
    args = parse_args(argv)
    from mmderain.ops.ldgp import MIN_PATCH_SIZE, ldgp
    if args.patch_size < MIN_PATCH_SIZE or args.kernel_size < 1:
        print(
            f'error: --patch-size must be >= {MIN_PATCH_SIZE} and '
            f'--kernel-size >= 1, got {args.patch_size} and '
            f'{args.kernel_size}',
            file=sys.stderr)
        return 2

    def process(img):
        return ldgp(img, args.patch_size, args.kernel_size)

    return map_folder(args.input_dir, args.out_dir, process, mask_name,
                      cv2.IMREAD_COLOR, 'mask')


if __name__ == '__main__':
    sys.exit(main())
