# Copyright (c) mmderain contributors. All rights reserved.
"""Derain image files with a trained model.

Outputs are lossless PNG files named after the inputs (``photo.jpg`` ->
``photo.png``) unless ``--ext`` says otherwise. An image that cannot be read,
derained (out of memory) or written is reported and skipped; the tool then
exits with status 1 after a summary of the failures.

Example::

    python tools/derain.py configs/prenet/prenet_t6-c16_b8-p48-2k_rain100l.py \
        checkpoints/prenet_t6-c16_rain100l_demo.pth rainy/ 'more/*.jpg' \
        --out-dir work_dirs/derained --compare
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Derain images with an mmderain model. Outputs keep the '
        'input file stems and are written as PNG unless --ext says otherwise.')
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
        '--ext',
        default='.png',
        help='extension, and so format, of the written images, e.g. .jpg '
        '(default: .png, lossless; "input" keeps each input\'s extension)')
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


def check_device(device: str) -> Optional[str]:
    """Why ``device`` cannot be used on this machine, if it cannot.

    Args:
        device (str): A torch device name, e.g. ``'cpu'`` or ``'cuda:1'``.

    Returns:
        str | None: An error message, or None if the device is usable.
    """
    import torch
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:
        return (f'--device {device!r} is not a device name ({err}); use e.g. '
                'cpu, cuda or cuda:1')
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            return (f'--device {device} requested but CUDA is not available '
                    'on this machine; use --device cpu')
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            return (f'--device {device} requested but this machine has '
                    f'{count} CUDA device(s), cuda:0 to cuda:{count - 1}')
    elif dev.type == 'mps':
        mps = getattr(torch.backends, 'mps', None)
        if mps is None or not mps.is_available():
            return (f'--device {device} requested but MPS is not available '
                    'on this machine; use --device cpu')
    return None


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)

    import torch

    from mmderain.apis import derain_files, init_derainer

    device = args.device
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    problem = check_device(device)
    if problem is not None:
        print(f'error: {problem}', file=sys.stderr)
        return 2
    ext = None if args.ext.lower() == 'input' else args.ext

    failures: List[str] = []

    def skip(path: str, err: Exception) -> None:
        # the messages of derain_files' errors name the file; others may not
        reason = str(err) if path in str(err) else f'{path}: {err}'
        failures.append(reason)
        # on a line of its own, below the progress bar
        print(f'\nskipped: {reason}', file=sys.stderr, flush=True)

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
            suffix=args.suffix,
            ext=ext,
            on_error=skip)
    except (OSError, ValueError, MemoryError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'\nWrote {len(outputs)} derained image(s) to {args.out_dir}')
    if failures:
        print(
            f'{len(failures)} image(s) failed and were skipped:',
            file=sys.stderr)
        for reason in failures:
            print(f'  {reason}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
