# Copyright (c) mmderain contributors. All rights reserved.
"""Write ``tests/data/rain2avoid_nss_official.npz``: outputs of the OFFICIAL
Rain2Avoid ``sdr.py`` (NSS) on small crops, for tests/test_ops/test_nss.py.

The official script runs unmodified, as a subprocess, once per case, on
crops of the Rain100L test images (the top-left 320 x 480 crops Rain2Avoid
uses) with the official LDGP masks of those crops. Its only unmet import,
``seaborn`` (unused), is a stub module put on ``PYTHONPATH``; matplotlib
runs with the Agg backend. The references and the fused image it writes are
read back and stored with its inputs (BGR, as ``cv2.imread`` gives them).

Usage::

    python tests/data/make_rain2avoid_nss_fixtures.py OFFICIAL_REPO \\
        [--data $MMDERAIN_DATA] [--out tests/data/rain2avoid_nss_official.npz]

``OFFICIAL_REPO`` is a checkout of ytpeng-aimlab's Rain2Avoid repository
(the folder holding ``Rain2Avoid(Single)/sdr.py``). The data root holds
``rain100l/test/rain/norain-N.png`` and
``rain2avoid/ldgp_official/N.png``. Needs numpy, opencv and matplotlib.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

HERE = osp.dirname(osp.abspath(__file__))

#: name, Rain100L image N, crop (top, left, height, width), sdr.py flags.
CASES = (
    # the image corner: windows clipped at the top and left borders
    ('corner', 3, (0, 0, 40, 56), []),
    # dense rain: similarity windows up to 7 and 18 pixels without a
    # rain-free neighbour (kept)
    ('dense', 77, (152, 72, 40, 56), []),
    # eta 1 (the online variant's weights); --pow is type=int: 1 is kept
    ('eta1', 1, (176, 160, 40, 56), ['--pow', '1']),
    # another threshold: 11..50 are rain but not replaced
    ('threshold50', 2, (24, 0, 40, 56), ['--threshold', '50']),
    # other windows: K 5, an even initial similarity window k 2, 12 SDRs
    ('windows', 56, (72, 296, 40, 56),
     ['--K', '5', '--k', '2', '--sdr_num', '12']),
    # the pixel at (8, 8) samples differently (reference 33) if the float32
    # sum of its weights is sequential instead of NumPy's pairwise sum
    ('pairwise', 48, (282, 38, 17, 17), []),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('official_repo')
    parser.add_argument('--data', default=os.environ.get('MMDERAIN_DATA'))
    parser.add_argument(
        '--out', default=osp.join(HERE, 'rain2avoid_nss_official.npz'))
    args = parser.parse_args(argv)
    if not args.data:
        parser.error('--data (or MMDERAIN_DATA) is required')
    return args


def flag(flags, name, default):
    return type(default)(flags[flags.index(name) + 1]) \
        if name in flags else default


def run_case(script, data, case, work):
    name, number, (top, left, h, w), flags = case
    rainy = cv2.imread(
        osp.join(data, 'rain100l', 'test', 'rain', f'norain-{number}.png'))
    ldgp = cv2.imread(
        osp.join(data, 'rain2avoid', 'ldgp_official', f'{number}.png'),
        cv2.IMREAD_GRAYSCALE)
    if rainy is None or ldgp is None:
        raise FileNotFoundError(f'image {number} or its LDGP mask is missing '
                                f'under {data}')
    image = np.ascontiguousarray(rainy[top:top + h, left:left + w])
    mask = np.ascontiguousarray(ldgp[top:top + h, left:left + w])
    root = osp.join(work, name)
    for sub in ('input', 'ldgp'):
        os.makedirs(osp.join(root, sub))
    file = f'{number}.png'
    cv2.imwrite(osp.join(root, 'input', file), image)
    cv2.imwrite(osp.join(root, 'ldgp', file), mask)
    env = dict(os.environ, PYTHONPATH=osp.join(work, 'stub'), MPLBACKEND='Agg')
    cmd = [
        sys.executable, script, '--input_path',
        osp.join(root, 'input') + '/', '--ldgp_path',
        osp.join(root, 'ldgp') + '/', '--save_path',
        osp.join(root, 'sdr') + '/', '--fuse_save_path',
        osp.join(root, 'fuse') + '/'
    ] + flags
    start = time.time()
    subprocess.run(cmd, cwd=root, env=env, check=True)
    num = flag(flags, '--sdr_num', 50)
    sdrs = np.stack([
        cv2.imread(osp.join(root, 'sdr', str(number), f'{k}.png'))
        for k in range(num)
    ])
    fused = cv2.imread(osp.join(root, 'fuse', file))
    # --pow is type=int: a value given is truncated, the default is not
    eta = float(int(flag(flags, '--pow', '0'))) if '--pow' in flags else 0.5
    params = dict(
        image=number,
        crop=[top, left, h, w],
        flags=flags,
        num=num,
        eta=eta,
        threshold=flag(flags, '--threshold', 10),
        window=flag(flags, '--K', 7),
        sim_window=flag(flags, '--k', 3))
    print(f'{name}: {(mask > params["threshold"]).sum()} pixels replaced, '
          f'official {time.time() - start:.1f} s')
    return {
        f'{name}_image': image,
        f'{name}_ldgp': mask,
        f'{name}_sdrs': sdrs,
        f'{name}_fused': fused,
        f'{name}_params': np.array(json.dumps(params)),
    }


def main(argv=None):
    args = parse_args(argv)
    script = osp.join(args.official_repo, 'Rain2Avoid(Single)', 'sdr.py')
    if not osp.isfile(script):
        raise FileNotFoundError(f'official script not found: {script}')
    arrays = {}
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(osp.join(work, 'stub'))
        with open(osp.join(work, 'stub', 'seaborn.py'), 'w') as f:
            f.write('"""Stub: sdr.py imports seaborn but never uses it."""\n')
        for case in CASES:
            arrays.update(run_case(script, args.data, case, work))
    arrays['cases'] = np.array(json.dumps([c[0] for c in CASES]))
    arrays['versions'] = np.array(
        json.dumps(dict(numpy=np.__version__, opencv=cv2.__version__)))
    np.savez_compressed(args.out, **arrays)
    print(f'wrote {args.out} ({osp.getsize(args.out)} bytes)')


if __name__ == '__main__':
    main()
