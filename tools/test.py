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
import os
import os.path as osp

from mmengine.dist import is_main_process

from mmderain.apis.runner import (build_runner, parse_runner_args,
                                  per_image_results, run_test)


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
    runner = build_runner(
        args.config,
        cfg_options=args.cfg_options,
        work_dir=args.work_dir,
        launcher=args.launcher,
        load_from=args.checkpoint)
    metrics = run_test(runner)
    if args.out and is_main_process():
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        result = {k: float(v) for k, v in metrics.items()}
        result['per_image'] = per_image_results(runner)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'metrics written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
