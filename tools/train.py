# Copyright (c) mmderain contributors. All rights reserved.
"""Train a derainer from a config.

Examples:
    python tools/train.py configs/prenet/prenet_t6_b18-p100-100e_rain100l.py
    python tools/train.py CONFIG --resume            # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    bash tools/dist_train.sh CONFIG 4                # 4 processes (torchrun)
"""
import argparse
import sys

from mmderain.apis.runner import (build_runner, input_failures,
                                  parse_runner_args)
from mmderain.engine.hooks import NonFiniteLossError
from mmderain.utils.safe_loading import CheckpointError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a derainer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        const=True,
        default=None,
        help='resume from the given checkpoint, or without a value from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='enable mixed precision training')
    return parse_runner_args(parser, argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        runner = build_runner(
            args.config,
            cfg_options=args.cfg_options,
            work_dir=args.work_dir,
            launcher=args.launcher,
            resume=args.resume,
            amp=args.amp)
        runner.train()
    except (CheckpointError, NonFiniteLossError) as err:
        sys.exit(f'error: {err}')
    failures = input_failures(runner)
    if failures:
        lines = '\n'.join(f'  {name}: {reason}' for name, reason in failures)
        sys.exit(f'error: {len(failures)} input(s) could not be processed:\n'
                 f'{lines}')


if __name__ == '__main__':
    main()
