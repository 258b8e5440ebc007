# Copyright (c) mmderain contributors. All rights reserved.
"""Top-left crops with each side floored to a multiple (Rain2Avoid's data).

Rain2Avoid trains and evaluates on Rain100L cropped to 320x480 (its UNet
needs sides that are multiples of 16): the top-left corner of each 321x481
image, :func:`mmderain.datasets.transforms.crop_to_multiple`. This tool
writes that crop of every image directly in ``INPUT_DIR`` into ``OUT_DIR``
under the same file name and format (read unchanged: bit depth and alpha
are kept; PNG stays lossless, a JPEG is re-encoded). ``--strip-prefix
norain-`` renames ``norain-7.png`` to ``7.png``, the official dataset's
naming (names without the prefix are kept). ``OUT_DIR`` must not be
``INPUT_DIR``; existing files of the same name in ``OUT_DIR`` are replaced
(atomically). An unreadable image, or one smaller than the multiple, is
reported by name and the others go on; the exit status is then 1.

Example::

    python tools/rain2avoid/crop.py data/rain100l/test/rain \\
        data/rain100l_r2a/input --strip-prefix norain-
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
        description='Top-left crops of the images of a folder with each '
        'side floored to a multiple (Rain100L 321x481 -> 320x480).')
    parser.add_argument('input_dir', help='folder of images')
    parser.add_argument(
        'out_dir', help='folder of the crops (created; not INPUT_DIR)')
    parser.add_argument(
        '--multiple',
        type=int,
        default=16,
        help='each side becomes a multiple of it (default: 16)')
    parser.add_argument(
        '--strip-prefix',
        default='',
        help='remove this prefix from the file names, e.g. norain- '
        '(norain-7.png -> 7.png)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; returns the exit status (0 ok, 1 some image failed,
    2 bad arguments)."""
    args = parse_args(argv)
    from mmderain.datasets.transforms import crop_to_multiple
    if args.multiple < 1:
        print(
            f'error: --multiple must be >= 1, got {args.multiple}',
            file=sys.stderr)
        return 2
    prefix = args.strip_prefix

    def out_name(name: str) -> str:
        if prefix and name.startswith(prefix):
            return name[len(prefix):]
        return name

    return map_folder(args.input_dir, args.out_dir,
                      lambda img: crop_to_multiple(img, args.multiple),
                      out_name, cv2.IMREAD_UNCHANGED, 'crop')


if __name__ == '__main__':
    sys.exit(main())
