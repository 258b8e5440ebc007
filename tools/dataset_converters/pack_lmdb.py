# Copyright (c) mmderain contributors. All rights reserved.
"""Pack a paired deraining dataset into two LMDB databases.

Output layout (read by ``LmdbPairedDataset`` + ``LoadImageFromLmdb``)::

    <out>/img.lmdb    # rainy images
    <out>/gt.lmdb     # clean images, each unique clean image once
    <out>/pairs.txt   # "img_key gt_key" per sample (written last)

Keys are the sample ``key`` of ``PairedImageDataset`` (the clean stem), so
rainy and clean share keys. When several rainy images share one clean
image (e.g. DDN, an annotation file), rainy keys are the rainy file stems
instead. ``<out>`` is written to a temporary folder and renamed when
complete.

Examples::

    # from a config (train_dataloader.dataset, RepeatDataset unwrapped)
    python tools/dataset_converters/pack_lmdb.py \\
        configs/prenet/prenet_t6_b18-p100-100e_rain100l.py \\
        --split train --out data/rain100l/train_lmdb --format raw --verify
    # from two folders of same-name images
    python tools/dataset_converters/pack_lmdb.py --img-dir rain \\
        --gt-dir norain --out out_lmdb
    # check an existing pack against its sources
    python tools/dataset_converters/pack_lmdb.py CONFIG --split train \\
        --out data/rain100l/train_lmdb --verify-only
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from typing import List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmderain.datasets.lmdb_utils import (FORMATS, LmdbVerifyError,  # noqa
                                          pack_lmdb, verify_lmdb)

SPLITS = ('train', 'val', 'test')
PAIRS_FILE = 'pairs.txt'


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
    parser.add_argument('--out', required=True, help='output folder')
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
    if (args.config is None) == (args.img_dir is None and
                                 args.gt_dir is None):
        parser.error('give either CONFIG or --img-dir and --gt-dir')
    if args.config is None and (args.img_dir is None or args.gt_dir is None):
        parser.error('--img-dir and --gt-dir go together')
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
    return DATASETS.build(ds_cfg)


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


def plan(data_list: List[dict]
         ) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]],
                    List[Tuple[str, str]]]:
    """Keys of both databases from ``img_path``/``gt_path``/``key`` infos.

    Args:
        data_list (list[dict]): Data infos.

    Returns:
        tuple: ``img_items`` and ``gt_items`` (``(key, path)`` lists) and
        ``pairs`` (``(img_key, gt_key)`` per sample).

    Raises:
        ValueError: If keys cannot be made unique or one clean key names
            two different files.
    """
    missing = [
        i for i, info in enumerate(data_list)
        if not {'img_path', 'gt_path', 'key'} <= set(info)
    ]
    if missing:
        raise ValueError(f'Data infos {missing[:10]} lack img_path, gt_path '
                         'or key (is this a paired dataset?)')
    keys = [str(info['key']) for info in data_list]
    if len(set(keys)) == len(keys):
        img_keys = keys
    else:  # several rainy images per clean image
        img_keys = [
            osp.splitext(osp.basename(str(info['img_path'])))[0]
            for info in data_list
        ]
        if len(set(img_keys)) != len(img_keys):
            dup = sorted({k for k in img_keys if img_keys.count(k) > 1})
            raise ValueError(
                'Sample keys repeat and so do rainy file stems; cannot key '
                f'the rainy database uniquely: {dup[:10]}')
    gt_items, gt_seen = [], {}
    conflicts = []
    for info, key in zip(data_list, keys):
        path = str(info['gt_path'])
        if key in gt_seen:
            if gt_seen[key] != path:
                conflicts.append(f'{key}: {gt_seen[key]} vs {path}')
            continue
        gt_seen[key] = path
        gt_items.append((key, path))
    if conflicts:
        raise ValueError('One clean key names different files: ' +
                         '; '.join(conflicts[:10]))
    img_items = [(k, str(info['img_path']))
                 for k, info in zip(img_keys, data_list)]
    pairs = list(zip(img_keys, keys))
    return img_items, gt_items, pairs


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool.

    Returns:
        int: 0 on success, 1 when verification failed.
    """
    args = parse_args(argv)
    if args.config:
        ds = _dataset_from_config(args.config, args.split)
        data_list = [dict(ds.get_data_info(i)) for i in range(len(ds))]
    else:
        data_list = _data_list_from_dirs(args.img_dir, args.gt_dir)
    if not data_list:
        raise ValueError('The dataset is empty; nothing to pack')
    img_items, gt_items, pairs = plan(data_list)
    out = osp.abspath(args.out)
    show = not args.no_progress

    if not args.verify_only:
        if osp.lexists(out) and not args.overwrite:
            raise FileExistsError(
                f'{out} already exists; pass --overwrite to replace it')
        tmp = f'{out}.tmp-{os.getpid()}'
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.makedirs(tmp)
            for name, items in (('img', img_items), ('gt', gt_items)):
                print(f'Packing {len(items)} {name} images ({args.format}) '
                      f'into {osp.join(out, name + ".lmdb")}')
                pack_lmdb(
                    items,
                    osp.join(tmp, f'{name}.lmdb'),
                    fmt=args.format,
                    compress_level=args.compress_level,
                    show_progress=show)
            with open(osp.join(tmp, PAIRS_FILE), 'w') as f:
                f.writelines(f'{i} {g}\n' for i, g in pairs)
            if osp.lexists(out):
                old = f'{out}.old-{os.getpid()}'
                os.rename(out, old)
                os.rename(tmp, out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        print(f'Wrote {out}: {len(img_items)} rainy, {len(gt_items)} clean '
              f'images, {len(pairs)} pairs')

    if args.verify or args.verify_only:
        if not osp.isdir(out):
            raise FileNotFoundError(f'Nothing to verify: {out} not found')
        failed = False
        for name, items in (('img', img_items), ('gt', gt_items)):
            db = osp.join(out, f'{name}.lmdb')
            try:
                report = verify_lmdb(items, db, show_progress=show)
                print(f'Verified {db}: {report["checked"]} images OK')
            except LmdbVerifyError as err:
                print(f'Verification FAILED: {err}', file=sys.stderr)
                failed = True
        if failed:
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
