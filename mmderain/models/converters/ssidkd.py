# Copyright (c) mmderain contributors. All rights reserved.
"""Official SSID-KD checkpoints to :class:`SSIDKDNet`.

The official training scripts (``train_<D>.py``, ``train_<D>_real.py``)
save ``net_latest`` = ``torch.save({'net': state dict, 'clock_net': step,
'opt_net': Adam state dict})``. The file holds tensors and plain
containers only, so it is read with ``torch.load(weights_only=True)``
(:func:`~mmderain.utils.safe_loading.load_checkpoint_file`): no code is
unpickled. ``clock_net`` and ``opt_net`` are dropped. A bare state dict is
accepted too.

Keys (``module.`` prefix of ``nn.DataParallel``, the official default,
removed first):

==========================================  ===============================
official                                    ours
==========================================  ===============================
``head.convLayer_{1,2,4}.0.*``              ``head.{0,1,2}.*``
``tail.catLayer.0.*``                       ``tail.*``
``encoder_decoder_{1,2,4}.``                ``ed{1,2,4}.``
``enLayer_{1,2,4}``, ``deLayer_{2,1}``      ``enc{1,2,4}``, ``dec{2,1}``
``catLayer_{1,2,3,4}.0.*``                  ``merge_{1to2,2to4,4to2,2to1}.*``
``conv1x1.<i>.0.*``                         ``fusions.<i>.*``
``units.<k>.unit.0.scale<s>.<j>.0.*``       ``unit.iscb.branch<s>.<j>.*``
``units.<k>.unit.0.fusion{84,42,21}.0.*``   ``unit.iscb.merge{84,42,21}.*``
``units.<k>.unit.0.fusion_all.0.*``         ``unit.iscb.merge_all.*``
``units.<k>.unit.1.conv_{3,5}_{1,2}.*``     ``unit.msfb.conv{3,5}_{1,2}.*``
``units.<k>.unit.1.confusion.*``            ``unit.msfb.fuse.*``
==========================================  ===============================

The official ``DenseConnection`` appends one ``UnitBlock`` ``n`` times,
so its state dict saves the shared unit once per alias ``units.0`` ...
``units.<n-1>``; the aliases are checked to be equal and collapsed into
our single ``unit``.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

from mmderain.models.editors.ssidkd import SSIDKDNet
from mmderain.utils.safe_loading import CheckpointError
from .official import (check_layout, expected_shapes, first_keys,
                       read_official_container, save_converted_checkpoint)

#: ``meta['source']`` of converted files.
SSIDKD_SOURCE = 'cuiyixin555/SSID-KD'
#: The entries of an official ``net_latest``; only ``'net'`` is converted.
NET_LATEST_ENTRIES = ('net', 'clock_net', 'opt_net')

_PREFIXES = (
    (re.compile(r'^head\.convLayer_([124])\.0\.'),
     lambda m: 'head.%d.' % '124'.index(m[1])),
    (re.compile(r'^tail\.catLayer\.0\.'), lambda m: 'tail.'),
    (re.compile(r'^encoder_decoder_([124])\.'), lambda m: f'ed{m[1]}.'),
)
_BLOCKS = {
    'enLayer_1': 'enc1',
    'enLayer_2': 'enc2',
    'enLayer_4': 'enc4',
    'deLayer_2': 'dec2',
    'deLayer_1': 'dec1'
}
_MERGES = {
    'catLayer_1': 'merge_1to2',
    'catLayer_2': 'merge_2to4',
    'catLayer_3': 'merge_4to2',
    'catLayer_4': 'merge_2to1'
}
_ED_KEY = re.compile(r'^(ed[124])\.(\w+?)\.(.*)$')
_UNIT = re.compile(r'^units\.(\d+)\.unit\.([01])\.(.*)$')
_FUSION = re.compile(r'^conv1x1\.(\d+)\.0\.(weight|bias)$')
_ISCB = (
    (re.compile(r'^scale([1248])\.(\d+)\.0\.'), r'branch\1.\2.'),
    (re.compile(r'^fusion(84|42|21)\.0\.'), r'merge\1.'),
    (re.compile(r'^fusion_all\.0\.'), 'merge_all.'),
)
_MSFB = (
    (re.compile(r'^conv_([35])_([12])\.'), r'conv\1_\2.'),
    (re.compile(r'^confusion\.'), 'fuse.'),
)


def load_official_ssidkd(
        src: str) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Read an official SSID-KD file, weights only.

    Args:
        src (str): An official ``net_latest`` (``{'net': state dict,
            'clock_net': step, 'opt_net': Adam state}``), a dict holding the
            weights under ``'state_dict'``, or a bare state dict.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The network's state dict and
        the other top-level entries, not converted (e.g. ``['clock_net',
        'opt_net']``).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        CheckpointError: If ``src`` cannot be read weights-only or holds no
            state dict where one is expected (naming the file and entry).
    """
    return read_official_container(
        src, 'net',
        ("expected an official net_latest ({'net': state dict, "
         "'clock_net': ..., 'opt_net': ...}) or a bare state dict"))


def _sub_first(rules, rest: str):
    for pattern, repl in rules:
        new, hits = pattern.subn(repl, rest, count=1)
        if hits:
            return new
    return None


def ssidkd_our_key(key: str) -> Tuple[str, int]:
    """Our key for an official ``ODE_DerainNet`` key.

    Args:
        key (str): The official key (``module.`` already removed).

    Returns:
        tuple[str, int]: Our key (unknown keys are returned unchanged, and
        then reported by the layout check) and the official unit alias
        ``k`` of ``...units.<k>.unit...`` keys (-1 for other keys).
    """
    for pattern, repl in _PREFIXES:
        m = pattern.match(key)
        if m:
            key = repl(m) + key[m.end():]
            break
    m = _ED_KEY.match(key)
    if not m:
        return key, -1
    ed, block, rest = m.groups()
    if block in _MERGES and rest.startswith('0.'):
        return f'{ed}.{_MERGES[block]}.{rest[2:]}', -1
    if block not in _BLOCKS:
        return key, -1
    prefix = f'{ed}.{_BLOCKS[block]}.'
    fusion = _FUSION.match(rest)
    if fusion:
        return f'{prefix}fusions.{fusion[1]}.{fusion[2]}', -1
    unit = _UNIT.match(rest)
    if unit:
        alias, part, tail = int(unit[1]), unit[2], unit[3]
        rules, name = (_ISCB, 'iscb') if part == '0' else (_MSFB, 'msfb')
        new = _sub_first(rules, tail)
        if new is not None:
            return f'{prefix}unit.{name}.{new}', alias
    return key, -1


def _arch_args(sd: Mapping[str, torch.Tensor], name: str) -> dict:
    """``channels`` and ``num_units`` implied by the official keys."""
    try:
        channels = [
            int(sd[f'head.convLayer_{s}.0.weight'].shape[0]) for s in (1, 2, 4)
        ]
    except KeyError as err:
        raise CheckpointError(
            f'{name} is not an official SSID-KD (ODE_DerainNet) state dict: '
            f'missing key {err.args[0]!r}; got {first_keys(sd)}') from None
    num_units = []
    for ed, block in ((1, 'enLayer_1'), (1, 'enLayer_2'), (1, 'enLayer_4')):
        pattern = re.compile(
            rf'^encoder_decoder_{ed}\.{block}\.conv1x1\.(\d+)\.0\.weight$')
        found = [int(m[1]) for m in map(pattern.match, sd) if m]
        num_units.append(max(found) + 1 if found else 0)
    return dict(channels=channels, num_units=num_units)


def convert_official_ssidkd(state_dict: Mapping[str, torch.Tensor],
                            name: str = 'state dict') -> Tuple[dict, dict]:
    """Map an official ``ODE_DerainNet`` state dict onto
    :class:`SSIDKDNet`.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict
            (``net_latest['net']``), with or without the ``module.``
            prefix.
        name (str): The file it comes from, for messages.

    Returns:
        tuple[dict, dict]: Our state dict (one tensor per shared unit) and
        the generator config (``dict(type='SSIDKDNet', channels=[...],
        num_units=[...])``).

    Raises:
        CheckpointError: If the aliases of a shared unit differ (naming the
            keys), keys are missing or unexpected, or a tensor has another
            shape than the network expects (naming the keys).
    """
    sd = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                     for k, v in state_dict.items())
    args = _arch_args(sd, name)
    out, first = OrderedDict(), {}
    for key, value in sd.items():
        new, alias = ssidkd_our_key(key)
        if new not in out:
            out[new], first[new] = value, key
        elif alias < 0:
            raise CheckpointError(f'{name}: keys {first[new]!r} and {key!r} '
                                  f'both map to {new!r}')
        elif (value.shape != out[new].shape
              or not torch.equal(value, out[new])):
            raise CheckpointError(
                f'{name}: {key!r} differs from {first[new]!r}: the units of '
                'an official DenseConnection are one shared module, so '
                'their saved aliases must be equal')
    signature = ', '.join(f'{k}={v}' for k, v in args.items())
    check_layout(
        out,
        expected_shapes(SSIDKDNet, args),
        f'{name}: official SSID-KD state dict vs SSIDKDNet({signature})',
        key_error=CheckpointError,
        shape_error=CheckpointError)
    return out, dict(type='SSIDKDNet', **args)


def convert_official_ssidkd_checkpoint(src: str,
                                       dst: str) -> Tuple[dict, List[str]]:
    """Convert an official SSID-KD file into an mmderain checkpoint.

    Args:
        src (str): Official ``net_latest`` or a bare state dict (see
            :func:`load_official_ssidkd`).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': {'generator.*': ...}, 'meta': ...}``),
            written atomically; never ``src`` itself. ``meta`` records the
            file name, the source repository and the generator config.

    Returns:
        tuple[dict, list[str]]: The generator config and the top-level
        entries left out (``['clock_net', 'opt_net']``).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        ValueError: If ``dst`` is ``src``.
        CheckpointError: If ``src`` is not an official SSID-KD checkpoint
            (naming the file and the entry or keys).
    """
    if osp.realpath(dst) == osp.realpath(src):
        raise ValueError(f'output {dst} is the input file: choose another '
                         'path (inputs are never overwritten)')
    official, others = load_official_ssidkd(src)
    state, generator = convert_official_ssidkd(official, src)
    save_converted_checkpoint({f'generator.{k}': v
                               for k, v in state.items()},
                              dict(
                                  converted_from=osp.basename(src),
                                  source=SSIDKD_SOURCE,
                                  generator=generator), dst)
    return generator, others
