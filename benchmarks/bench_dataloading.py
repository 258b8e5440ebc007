# Copyright (c) mmderain contributors. All rights reserved.
"""Training data loading throughput: PNG folder vs LMDB (PNG / raw).

Packs ``--data-root`` (``rain``/``norain`` folders) into two temporary
LMDB layouts (not timed), then measures samples/s of a DataLoader with
batch 16, 2 workers and random aligned 100x100 crops for

(a) the PNG folder: ``PairedImageDataset`` + ``LoadImageFromFile``;
(b) the same dataset and pipeline with ``backend='lmdb'``, PNG records;
(c) the same with raw uint8 records (no decoding), each record's CRC-32
    checked when read (the default);
(d) as (c) without the check (``MMDERAIN_LMDB_VERIFY_CHECKSUMS=0``).

Each variant runs ``--repeats`` times, the variants in turn, all in this
process; the table gives the median and the range. The cost of the check
alone is measured too: ``LmdbImageReader.get`` of every raw rainy image,
with and without it (median time per image over the repeats).

Example::

    python benchmarks/bench_dataloading.py \\
        --data-root ../shared/data/rain100l/train --iters 40
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from torch.utils.data import DataLoader, RandomSampler  # noqa: E402

from mmderain.datasets import PairedImageDataset  # noqa: E402
from mmderain.datasets.lmdb.packing import pack_dataset  # noqa: E402
from mmderain.datasets.lmdb.reader import VERIFY_ENV  # noqa: E402
from mmderain.datasets.lmdb.reader import LmdbImageReader  # noqa: E402

_TAIL = [
    dict(type='PairedRandomCrop', patch_size=100),
    dict(type='PackInputs'),
]


def _dataset(data_root: str,
             backend: str = 'disk',
             lmdb_root: Optional[str] = None) -> PairedImageDataset:
    """Rain100L-style pairs with the training pipeline, on a backend."""
    load = [
        dict(type='LoadImageFromFile', key=k, channel_order='rgb')
        for k in ('img', 'gt')
    ]
    return PairedImageDataset(
        data_root=data_root,
        data_prefix=dict(img='rain', gt='norain'),
        backend=backend,
        lmdb_root=lmdb_root,
        pipeline=load + _TAIL)


def _measure(dataset, iters: int, warmup: int, batch_size: int,
             workers: int) -> float:
    """Samples/s over ``iters`` batches after ``warmup`` batches."""
    sampler = RandomSampler(
        dataset,
        replacement=True,
        num_samples=(iters + warmup) * batch_size,
        generator=torch.Generator().manual_seed(0))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=pseudo_collate,
        persistent_workers=False)
    it = iter(loader)
    for _ in range(warmup):  # worker start-up and first files not timed
        next(it)
    start = time.perf_counter()
    n = 0
    for batch in it:
        n += len(batch['inputs'])
    elapsed = time.perf_counter() - start
    return n / elapsed


def _without_checks(measure: Callable) -> Callable:
    """``measure`` with raw-record checks off in the DataLoader workers."""

    def run(*args):
        os.environ[VERIFY_ENV] = '0'  # forked workers inherit it
        try:
            return measure(*args)
        finally:
            del os.environ[VERIFY_ENV]

    return run


def _read_seconds(db_path: str, verify: bool) -> float:
    """Seconds per image to read every record of a database."""
    reader = LmdbImageReader(db_path, verify_checksums=verify)
    keys = reader.keys()
    reader.get(keys[0])  # open, not timed
    start = time.perf_counter()
    for key in keys:
        reader.get(key)
    elapsed = time.perf_counter() - start
    reader.close()
    return elapsed / len(keys)


def _spread(values: List[float], fmt: str = '.1f') -> str:
    """``median (min-max)``."""
    return (f'{statistics.median(values):{fmt}} '
            f'({min(values):{fmt}}-{max(values):{fmt}})')


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark and print the table.

    Returns:
        dict: Samples/s per variant (one value per repeat) and, under
        ``'read_us'``, microseconds per raw image read with (``'check'``)
        and without (``'no_check'``) the CRC-32 check.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--iters', type=int, default=40)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args(argv)

    if not osp.isdir(osp.join(args.data_root, 'rain')):
        raise FileNotFoundError(
            f'{args.data_root} has no rain/ folder (expected rain/ and '
            'norain/ with same-name images)')
    init_default_scope('mmderain')
    disk = _dataset(args.data_root)
    infos = [disk.get_data_info(i) for i in range(len(disk))]
    with tempfile.TemporaryDirectory(prefix='bench_lmdb_') as tmp:
        roots = {}
        for fmt in ('png', 'raw'):
            roots[fmt] = osp.join(tmp, fmt)
            t0 = time.perf_counter()
            pack_dataset(infos, roots[fmt], fmt=fmt, show_progress=False)
            print(f'packed {fmt} in {time.perf_counter() - t0:.1f}s '
                  f'({_du(roots[fmt]) / 2**20:.0f} MiB)')
        variants = [
            ('folder', 'PNG folder', lambda: disk, _measure),
            ('lmdb_png', 'LMDB, PNG records',
             lambda: _dataset(args.data_root, 'lmdb', roots['png']), _measure),
            ('lmdb_raw', 'LMDB, raw records, CRC checked',
             lambda: _dataset(args.data_root, 'lmdb', roots['raw']), _measure),
            ('lmdb_raw_nocheck', 'LMDB, raw records, no check',
             lambda: _dataset(args.data_root, 'lmdb', roots['raw']),
             _without_checks(_measure)),
        ]
        results = {v[0]: [] for v in variants}
        read_us = {'check': [], 'no_check': []}
        db = osp.join(roots['raw'], 'img.lmdb')
        for rep in range(args.repeats):
            for name, _, build, measure in variants:
                results[name].append(
                    measure(build(), args.iters, args.warmup, args.batch_size,
                            args.workers))
            for mode in read_us:
                read_us[mode].append(_read_seconds(db, mode == 'check') * 1e6)
            print(f'repeat {rep + 1}/{args.repeats} done')
    print(f'\nbatch {args.batch_size}, {args.workers} workers, 100x100 '
          f'crops, {args.iters} timed batches ({args.warmup} warm-up), '
          f'median (min-max) of {args.repeats} runs')
    print(f'| {"variant":<32} | {"samples/s":>20} | {"vs folder":>9} |')
    print(f'|{"-" * 34}|{"-" * 22}|{"-" * 11}|')
    folder = statistics.median(results['folder'])
    for name, label, _, _ in variants:
        print(f'| {label:<32} | {_spread(results[name]):>20} | '
              f'{statistics.median(results[name]) / folder:8.2f}x |')
    print(f'lmdb_raw/folder ratio: '
          f'{statistics.median(results["lmdb_raw"]) / folder:.2f}')
    print('LmdbImageReader.get of a raw rainy image, us: with CRC-32 check '
          f'{_spread(read_us["check"])}, without '
          f'{_spread(read_us["no_check"])}')
    results['read_us'] = read_us
    return results


def _du(path: str) -> int:
    """Bytes of the files under ``path``."""
    import os
    return sum(
        osp.getsize(osp.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


if __name__ == '__main__':
    main()
