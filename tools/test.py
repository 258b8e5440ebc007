# Copyright (c) mmderain contributors. All rights reserved.
"""Test (evaluate) a derainer checkpoint on the config's test set(s).

Examples:
    python tools/test.py CONFIG CHECKPOINT --out metrics.json
    python tools/test.py CONFIG CHECKPOINT \
        --cfg-options test_dataloader.dataset.data_root=/data/rain100l/test
    bash tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import argparse
import json
import math
import os
import os.path as osp
import sys

from mmengine.dist import is_main_process

from mmderain.apis.runner import (build_runner, parse_runner_args,
                                  per_image_results, run_test)
from mmderain.utils.safe_loading import CheckpointError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a derainer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='write the metrics (averages and per-image values) to this '
        'JSON file')
    return parse_runner_args(parser, argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    try:
        runner = build_runner(
            args.config,
            cfg_options=args.cfg_options,
            work_dir=args.work_dir,
            launcher=args.launcher,
            load_from=args.checkpoint)
        metrics = run_test(runner)
    except CheckpointError as err:
        sys.exit(f'error: {err}')
    broken = sorted(k for k, v in metrics.items() if not _finite(v))
    if args.out and is_main_process():
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        result = {k: _json_value(v) for k, v in metrics.items()}
        result['per_image'] = {
            metric: {name: _json_value(v)
                     for name, v in values.items()}
            for metric, values in per_image_results(runner).items()
        }
        with open(args.out, 'w') as f:
            # strict JSON: a non-finite value is written as null
            json.dump(result, f, indent=2, allow_nan=False)
        print(f'metrics written to {args.out}')
    if broken:
        sys.exit(f'error: metrics {", ".join(broken)} are not finite: the '
                 'model produced NaN or infinite outputs')
    return metrics


def _finite(value) -> bool:
    return math.isfinite(float(value))


def _json_value(value):
    """``float(value)``, or None where it is NaN or infinite."""
    return float(value) if _finite(value) else None


if __name__ == '__main__':
    main()
