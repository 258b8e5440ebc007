# Copyright (c) mmderain contributors. All rights reserved.
"""Make the SSID-KD parity fixture from the OFFICIAL code.

Usage (the official code is read, never copied into this repository)::

    OMP_NUM_THREADS=2 python tests/data/make_ssidkd_fixture.py \\
        [/work/official/ssidkd] [--out tests/data/ssidkd_parity.npz]

The argument is a folder holding the official ``model.py`` of
cuiyixin555/SSID-KD at commit 57ac0fce6fe9786179d18be8c1e48d1111c06762
(default ``/work/official/ssidkd``); it is imported from there (it needs
torch and torchvision only).

The script builds the official ``ODE_DerainNet`` wrapped in
``nn.DataParallel`` (as the official training does with its default
``device_id = '0,1'``; on a machine without GPUs ``DataParallel`` has no
devices and just calls the network, but its state dict still carries the
``module.`` prefix), fills it with :func:`official_weights` (a seeded
recipe that needs only the key names and shapes), runs it on the two
seeded inputs of :func:`make_inputs` and writes ``ssidkd_parity.npz``:

* ``keys``: the 2,204 official state-dict keys (``module.`` prefix and the
  ``units.<k>`` aliases of the weight-tied units included), in order, as
  one newline-separated UTF-8 byte array (:func:`decode_keys`);
* ``shapes``: their shapes, ``(2204, 4)`` int32, padded with -1;
* ``input_<i>``, ``derain_<i>``, ``rain_<i>``, ``code_<i>`` for each
  input ``i``: the official outputs (float32, ``torch.no_grad``).

The test rebuilds the official ``net_latest`` file from ``keys`` and
``shapes`` with :func:`official_weights` (no official code needed). The
functions below use torch only, so the test imports them from this file.
"""
import argparse
import importlib.util
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

SEED = 0
#: Inputs (B, C, H, W): one at the smallest official size, one odd-sized.
INPUT_SHAPES = ((1, 3, 32, 40), (1, 3, 37, 45))
OFFICIAL_COMMIT = '57ac0fce6fe9786179d18be8c1e48d1111c06762'
_ALIAS = re.compile(r'\.units\.\d+\.')


def canonical_key(key: str) -> str:
    """The key of a weight-tied unit's first alias (``units.0``)."""
    return _ALIAS.sub('.units.0.', key)


def official_weights(
        keys: Sequence[str],
        shapes: Sequence[Sequence[int]]) -> 'OrderedDict[str, torch.Tensor]':
    """The fixture's official state dict, from its keys and shapes.

    Recipe: one ``torch.Generator`` seeded with :data:`SEED`; for each key
    in order whose :func:`canonical_key` was not seen yet,
    ``randn(shape) / sqrt(fan_in)`` for weights (``fan_in`` = elements
    per output channel) and ``randn(shape) * 0.01`` for biases; the other
    aliases of a unit get the same tensor object, as in the official state
    dict.

    Args:
        keys (Sequence[str]): Official keys, in state-dict order.
        shapes (Sequence[Sequence[int]]): Their shapes.

    Returns:
        OrderedDict[str, Tensor]: The state dict.
    """
    gen = torch.Generator().manual_seed(SEED)
    made: Dict[str, torch.Tensor] = {}
    out = OrderedDict()
    for key, shape in zip(keys, shapes):
        canon = canonical_key(key)
        if canon not in made:
            shape = tuple(int(s) for s in shape)
            value = torch.randn(shape, generator=gen)
            if len(shape) > 1:
                value /= float(np.prod(shape[1:]))**0.5
            else:
                value *= 0.01
            made[canon] = value
        out[key] = made[canon]
    return out


def make_inputs() -> List[torch.Tensor]:
    """The seeded inputs in [0, 1] (one ``torch.Generator`` seeded 1)."""
    gen = torch.Generator().manual_seed(SEED + 1)
    return [torch.rand(s, generator=gen) for s in INPUT_SHAPES]


def encode_keys(keys: Sequence[str]) -> np.ndarray:
    return np.frombuffer('\n'.join(keys).encode(), dtype=np.uint8)


def decode_keys(array: np.ndarray) -> List[str]:
    """The key list stored by :func:`encode_keys`."""
    return bytes(array.astype(np.uint8)).decode().split('\n')


def decode_shapes(array: np.ndarray) -> List[Tuple[int, ...]]:
    """The shapes stored padded with -1."""
    return [tuple(int(s) for s in row if s >= 0) for row in array]


def _import_official(folder: str):
    path = osp.join(folder, 'model.py')
    spec = importlib.util.spec_from_file_location('ssidkd_official_model',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'official',
        nargs='?',
        default='/work/official/ssidkd',
        help='folder holding the official model.py')
    parser.add_argument(
        '--out',
        default=osp.join(
            osp.dirname(osp.abspath(__file__)), 'ssidkd_parity.npz'))
    args = parser.parse_args(argv)
    official = _import_official(args.official)
    net = torch.nn.DataParallel(official.ODE_DerainNet())
    sd = net.state_dict()
    keys = list(sd)
    shapes = [tuple(v.shape) for v in sd.values()]
    net.load_state_dict(official_weights(keys, shapes))
    net.eval()
    arrays = dict(
        keys=encode_keys(keys),
        shapes=np.array([list(s) + [-1] * (4 - len(s)) for s in shapes],
                        dtype=np.int32))
    with torch.no_grad():
        for i, x in enumerate(make_inputs()):
            derain, rain, code = net(x.clone())
            arrays.update({
                f'input_{i}': x.numpy(),
                f'derain_{i}': derain.numpy(),
                f'rain_{i}': rain.numpy(),
                f'code_{i}': code.numpy()
            })
            print(f'input {tuple(x.shape)}: |rain| max '
                  f'{rain.abs().max():.4f}, |code| max {code.abs().max():.4f}')
    np.savez_compressed(args.out, **arrays)
    print(f'{len(keys)} keys; wrote {args.out} '
          f'({osp.getsize(args.out) / 1024:.0f} KiB)')


if __name__ == '__main__':
    main()
