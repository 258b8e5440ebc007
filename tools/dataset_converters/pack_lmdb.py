# Copyright (c) mmderain contributors. All rights reserved.
"""Pack a deraining dataset into LMDB.

Output layout (read by any mmderain dataset with ``backend='lmdb'``)::

    <out>/img.lmdb    # rainy images
    <out>/gt.lmdb     # clean images, each unique clean image once
    <out>/pairs.txt   # "img_key [gt_key]" per sample

``<out>`` defaults to ``<data_root>_lmdb``, where datasets look for it, so
after packing a config switches with one field, e.g.
``--cfg-options train_dataloader.dataset.dataset.backend=lmdb``. The
folder is written under a temporary name and renamed when complete. The
logic lives in :mod:`mmderain.datasets.lmdb.packing`.

Examples::

    # from a config (train_dataloader.dataset, RepeatDataset unwrapped)
    python tools/dataset_converters/pack_lmdb.py \\
        configs/prenet/prenet_t6_b18-p100-100e_rain100l.py --split train \\
        --format raw --verify           # -> data/rain100l/train_lmdb
    # from two folders of same-name images
    python tools/dataset_converters/pack_lmdb.py --img-dir rain \\
        --gt-dir norain --out out_lmdb
    # check an existing pack against its sources
    python tools/dataset_converters/pack_lmdb.py CONFIG --split train \\
        --verify-only
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmderain.datasets.base_dataset import BaseDerainDataset  # noqa: E402
from mmderain.datasets.lmdb import FORMATS, default_lmdb_root  # noqa: E402
from mmderain.datasets.lmdb.packing import pack_dataset  # noqa: E402
from mmderain.datasets.lmdb.packing import verify_dataset  # noqa: E402

SPLITS = ('train', 'val', 'test')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Pack rainy/clean pairs into <out>/img.lmdb, '
        '<out>/gt.lmdb and <out>/pairs.txt.')
    parser.add_argument(
        'config', nargs='?', help='mmderain config with the dataset')
    parser.add_argument(
        '--split',
        default='train',
        choices=SPLITS,
        help='which <split>_dataloader.dataset of the config to pack')
    parser.add_argument('--img-dir', help='folder of rainy images')
    parser.add_argument(
        '--gt-dir', help='folder of clean images with the same names')
    parser.add_argument(
        '--out',
        help='output folder (default: the dataset\'s lmdb_root, i.e. '
        '<data_root>_lmdb; required with --img-dir)')
    parser.add_argument(
        '--format', default='png', choices=FORMATS, help='record format')
    parser.add_argument(
        '--compress-level', type=int, default=1, help='PNG level 0-9')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument(
        '--verify', action='store_true', help='verify after packing')
    parser.add_argument(
        '--verify-only',
        action='store_true',
        help='only verify an existing --out against the sources')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide progress bars')
    args = parser.parse_args(argv)
    if (args.config is None) == (args.img_dir is None and args.gt_dir is None):
        parser.error('give either CONFIG or --img-dir and --gt-dir')
    if args.config is None and (args.img_dir is None or args.gt_dir is None):
        parser.error('--img-dir and --gt-dir go together')
    if args.config is None and args.out is None:
        parser.error('--out is required with --img-dir/--gt-dir')
    return args


def _dataset_from_config(config: str, split: str):
    """Build ``<split>_dataloader.dataset`` of a config (unwrapped)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmderain.datasets  # noqa: F401 (registers the datasets)
    from mmderain.registry import DATASETS

    if not osp.isfile(config):
        raise FileNotFoundError(f'Config file not found: {config}')
    cfg = Config.fromfile(config)
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise KeyError(f'{config} has no {split}_dataloader.dataset')
    ds_cfg = loader['dataset'].copy()
    while ds_cfg.get('type') in ('RepeatDataset', 'ClassBalancedDataset'):
        ds_cfg = ds_cfg['dataset'].copy()
    if ds_cfg.get('type') in ('ConcatDataset', ):
        raise ValueError(f'{split}_dataloader.dataset of {config} is a '
                         'ConcatDataset; pack each part separately')
    ds_cfg['pipeline'] = []  # only the data list is needed
    ds_cfg['lazy_init'] = False
    init_default_scope(cfg.get('default_scope', 'mmderain'))
    if not issubclass(DATASETS.get(ds_cfg['type']), BaseDerainDataset):
        raise TypeError(f"{ds_cfg['type']} has no LMDB backend to pack for")
    # list the source files even if the config already reads from LMDB
    ds_cfg['backend'] = 'disk'
    dataset = DATASETS.build(ds_cfg)
    dataset.lmdb_root = ds_cfg.get('lmdb_root')
    return dataset


def _data_list_from_dirs(img_dir: str, gt_dir: str) -> List[dict]:
    """Same-name pairs of two folders."""
    import mmderain.datasets  # noqa: F401
    from mmderain.datasets import PairedImageDataset

    for d in (img_dir, gt_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(f'Image folder not found: {d}')
    ds = PairedImageDataset(
        data_prefix=dict(img=osp.abspath(img_dir), gt=osp.abspath(gt_dir)),
        layout='same_name')
    return [ds.get_data_info(i) for i in range(len(ds))]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool.

    Returns:
        int: 0 on success, 1 when verification failed.
    """
    args = parse_args(argv)
    if args.config:
        ds = _dataset_from_config(args.config, args.split)
        data_list = [dict(ds.get_data_info(i)) for i in range(len(ds))]
        out = args.out or ds.lmdb_root or default_lmdb_root(ds.data_root)
    else:
        data_list = _data_list_from_dirs(args.img_dir, args.gt_dir)
        out = args.out
    show = not args.no_progress
    if not args.verify_only:
        img_items, gt_items, pairs = pack_dataset(
            data_list,
            out,
            fmt=args.format,
            compress_level=args.compress_level,
            overwrite=args.overwrite,
            show_progress=show)
        print(f'Wrote {osp.abspath(out)}: {len(img_items)} rainy, '
              f'{len(gt_items)} clean images, {len(pairs)} samples')
    if args.verify or args.verify_only:
        failures = verify_dataset(data_list, out, show_progress=show)
        for failure in failures:
            print(f'Verification FAILED: {failure}', file=sys.stderr)
        if failures:
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
