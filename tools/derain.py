# Copyright (c) mmderain contributors. All rights reserved.
"""Derain image files with a trained model.

Example::

    python tools/derain.py configs/prenet/prenet_demo_rain100l.py \
        checkpoints/prenet_demo_rain100l.pth rainy/ 'more/*.jpg' \
        --out-dir work_dirs/derained --compare
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Derain images with an mmderain model. Outputs keep the '
        'input file names.')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (path or URL)')
    parser.add_argument(
        'inputs',
        nargs='+',
        metavar='INPUT',
        help='image file, directory (non-recursive) or glob pattern '
        '(quote it to keep the shell from expanding it)')
    parser.add_argument(
        '--out-dir', required=True, help='directory for derained images')
    parser.add_argument(
        '--tile',
        type=int,
        default=None,
        help='tile size for tiled inference on large images (default: '
        'whole image)')
    parser.add_argument(
        '--tile-overlap',
        type=int,
        default=32,
        help='overlap between tiles in pixels (default: 32)')
    parser.add_argument(
        '--compare',
        action='store_true',
        help='also write "input | derained" images into OUT_DIR/compare/')
    parser.add_argument(
        '--suffix',
        default=None,
        help='text appended to output file stems, e.g. _derained')
    parser.add_argument(
        '--device',
        default=None,
        help='device, e.g. cpu, cuda or cuda:1 (default: cuda if available, '
        'else cpu)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.generator.stages=4')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    import torch

    from mmderain.apis import derain_files, init_derainer

    device = args.device
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    try:
        model = init_derainer(
            args.config,
            args.checkpoint,
            device=device,
            cfg_options=args.cfg_options)
        outputs = derain_files(
            model,
            args.inputs,
            args.out_dir,
            tile=args.tile,
            tile_overlap=args.tile_overlap,
            compare=args.compare,
            suffix=args.suffix)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'\nWrote {len(outputs)} derained image(s) to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
