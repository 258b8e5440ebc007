# Copyright (c) mmderain contributors. All rights reserved.
"""Official Rain2Avoid checkpoints to :class:`R2AUNet` (and the other CNN
backbones).

The official "Multiple" training (``Rain2Avoid(Multiple)/train_all.py``)
saves ``model.pkl`` = ``torch.save({'model': UNet state dict, 'optimizer':
Adam state dict, 'scheduler': MultiStepLR state dict})``, which its
``test_all.py`` reads back. The file holds tensors and plain containers
only (the scheduler's milestones are a ``collections.Counter``), so it is
read with ``torch.load(weights_only=True)``
(:func:`~mmderain.utils.safe_loading.load_checkpoint_file`): no code is
unpickled. The optimizer and scheduler states are dropped (the official
scheduler is never stepped anyway).

Bare state dicts of the official backbones (``network.py``) are accepted
too, recognised by their keys:

=============  ==========================  ===============================
official       official keys               ours
=============  ==========================  ===============================
``UNet``       ``enc_k.conv.*``,           :class:`R2AUNet`, same keys
               ``enc_k.bn.*``, ``dec_k.*``
``ResNet``     ``down1.{0,1}.*``,          :class:`R2AResNet`: ``conv1``,
               ``down2.1.*``, ``down3.*``, ``bn1``, ``layer1`` ..
               ``down4.*``, ``down5.0.*``, ``layer4``, ``upK.*``; the
               ``upK.main.0.*`` (and the   aliases and the unused ``fc``
               aliases ``resnet18.*``,     are dropped
               ``resnet.*``)
``DnCNN``      ``dncnn.<i>.*``             :class:`DnCNN`: ``layers.<i>.*``
=============  ==========================  ===============================

(Restormer's official keys are those of mmagic's ``Restormer``: no
conversion is needed.) A ``module.`` prefix (``nn.DataParallel``) is
accepted. The official ResNet's state dict holds every encoder tensor
three times (``resnet18.*``, ``resnet.*``, ``down*``: the same modules
under three names); ``load_state_dict`` writes ``down*`` last, so those
are the ones converted.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Tuple

import torch

from mmderain.models.archs import DnCNN, R2AResNet, R2AUNet
from mmderain.utils.safe_loading import CheckpointError
from .official import (check_layout, expected_shapes, first_keys,
                       read_official_container, save_converted_checkpoint)

#: ``meta['source']`` of converted files.
R2A_SOURCE = ('ytpeng-aimlab/Rain2Avoid-Self-Supervised-Single-Image-'
              'Deraining-with-Non-local-Stochastic-Sampling')
#: The entries of an official ``model.pkl``; only ``'model'`` is converted.
MODEL_PKL_ENTRIES = ('model', 'optimizer', 'scheduler')

_ARCHS = {'R2AUNet': R2AUNet, 'R2AResNet': R2AResNet, 'DnCNN': DnCNN}
#: A key that identifies each official layout.
_LAYOUT_KEYS = {
    'R2AUNet': 'enc_1.conv.weight',
    'R2AResNet': 'down1.0.weight',
    'DnCNN': 'dncnn.0.weight',
}
#: Official ResNet ``down*`` prefixes -> ours.
_RESNET_DOWN = (('down1.0.', 'conv1.'), ('down1.1.', 'bn1.'),
                ('down2.1.', 'layer1.'), ('down3.', 'layer2.'),
                ('down4.', 'layer3.'), ('down5.0.', 'layer4.'))
_RESNET_UP = re.compile(r'^up(\d)\.main\.0\.(weight|bias)$')
#: Official ResNet prefixes that alias ``down*`` or are never used.
_RESNET_DROPPED = ('resnet18.', 'resnet.')


def load_official_rain2avoid(
        src: str) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Read an official Rain2Avoid file, weights only.

    Args:
        src (str): An official ``model.pkl`` (``{'model': state dict,
            'optimizer': ..., 'scheduler': ...}``), a dict holding the
            weights under ``'state_dict'``, or a bare state dict.

    Returns:
        tuple[dict[str, Tensor], list[str]]: The network's state dict and
        the other top-level entries, which are not converted (e.g.
        ``['optimizer', 'scheduler']``).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        CheckpointError: If ``src`` cannot be read weights-only, or holds
            no state dict where one is expected (naming the file and the
            entry).
    """
    return read_official_container(
        src, 'model',
        ("expected an official model.pkl ({'model': UNet state dict, "
         "'optimizer': ..., 'scheduler': ...}) or a bare state dict"))


def _detect_arch(keys, name: str) -> str:
    for arch, key in _LAYOUT_KEYS.items():
        if key in keys:
            return arch
    if any(k.startswith('resnet18.') for k in keys):
        raise CheckpointError(
            f'{name}: official Rain2Avoid ResNet state dict without its '
            "'down*' keys (the ones the official forward uses)")
    raise CheckpointError(
        f'{name} is not an official Rain2Avoid state dict: expected the '
        "keys of UNet ('enc_1.conv.weight', ...), ResNet "
        "('down1.0.weight', ...) or DnCNN ('dncnn.0.weight', ...), got "
        f'{first_keys(keys)}')


def rain2avoid_our_key(arch: str, key: str) -> Optional[str]:
    """Our key for a key of an official backbone state dict.

    Args:
        arch (str): ``'R2AUNet'``, ``'R2AResNet'`` or ``'DnCNN'``.
        key (str): The official key (``module.`` already removed).

    Returns:
        str | None: Our key (unknown keys unchanged), or None for the
        official keys that are dropped (the ResNet's ``resnet18.*`` and
        ``resnet.*`` aliases of ``down*``, and its unused ``fc``).
    """
    if arch == 'DnCNN' and key.startswith('dncnn.'):
        return 'layers.' + key[len('dncnn.'):]
    if arch != 'R2AResNet':
        return key
    if key.startswith(_RESNET_DROPPED):
        return None
    up = _RESNET_UP.match(key)
    if up:
        return f'up{up[1]}.{up[2]}'
    for old, new in _RESNET_DOWN:
        if key.startswith(old):
            return new + key[len(old):]
    return key


def _map_keys(arch: str, sd: Mapping[str, torch.Tensor],
              name: str) -> Tuple[dict, List[str]]:
    out, dropped = OrderedDict(), []
    for key, value in sd.items():
        new = rain2avoid_our_key(arch, key)
        if new is None:
            dropped.append(key)
        elif new in out:
            raise CheckpointError(f'{name}: keys {key!r} and another one '
                                  f'both map to {new!r}')
        else:
            out[new] = value
    notes = []
    if any(k.startswith('resnet18.fc.') for k in dropped):
        notes.append('resnet18.fc (never used)')
    if any(not k.startswith('resnet18.fc.') for k in dropped):
        notes.append('resnet18.*, resnet.* (aliases of down*)')
    return out, notes


def _arch_args(arch: str, sd: Mapping[str, torch.Tensor]) -> dict:
    if arch == 'R2AUNet':
        return dict(in_channels=int(sd['enc_1.conv.weight'].shape[1]))
    if arch == 'DnCNN':
        w = sd['layers.0.weight']
        convs = [
            k for k, v in sd.items() if k.endswith('.weight') and v.dim() == 4
        ]
        return dict(
            in_channels=int(w.shape[1]),
            num_layers=len(convs),
            mid_channels=int(w.shape[0]))
    return {}


def _check(arch: str, args: dict, sd: Mapping[str, torch.Tensor],
           name: str) -> None:
    expected = expected_shapes(_ARCHS[arch], args)
    signature = ', '.join(f'{k}={v}' for k, v in args.items())
    check_layout(
        sd,
        expected, f'{name}: official Rain2Avoid {arch} state dict vs '
        f'{arch}({signature})',
        key_error=CheckpointError,
        shape_error=CheckpointError)


def convert_official_rain2avoid(
        state_dict: Mapping[str, torch.Tensor],
        name: str = 'state dict') -> Tuple[dict, dict, List[str]]:
    """Map an official Rain2Avoid backbone state dict onto ours.

    Args:
        state_dict (Mapping[str, Tensor]): The official ``UNet``,
            ``ResNet`` or ``DnCNN`` state dict (``model.pkl['model']``).
        name (str): The file it comes from, for messages.

    Returns:
        tuple[dict, dict, list[str]]: Our state dict, the generator config
        (``dict(type='R2AUNet', in_channels=3)``, ...) and the official
        units left out (the ResNet's unused ``fc`` and aliases).

    Raises:
        CheckpointError: If the keys are not those of an official backbone
            (naming the file and the missing or unexpected keys), or a
            tensor has another shape than the network expects.
    """
    sd = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                     for k, v in state_dict.items())
    arch = _detect_arch(sd, name)
    sd, dropped = _map_keys(arch, sd, name)
    args = _arch_args(arch, sd)
    _check(arch, args, sd, name)
    return sd, dict(type=arch, **args), dropped


def convert_official_rain2avoid_checkpoint(src: str,
                                           dst: str) -> Tuple[dict, List[str]]:
    """Convert an official Rain2Avoid file into an mmderain checkpoint.

    Args:
        src (str): Official ``model.pkl`` or a bare backbone state dict
            (see :func:`load_official_rain2avoid`).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': {'generator.*': ...}, 'meta': ...}``),
            written atomically; never ``src`` itself. ``meta`` records the
            file name, the source repository and the generator config.

    Returns:
        tuple[dict, list[str]]: The generator config and what was left out
        (``model.pkl``'s optimizer and scheduler states, the ResNet's
        unused units).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        ValueError: If ``dst`` is ``src``.
        CheckpointError: If ``src`` is not an official Rain2Avoid
            checkpoint (naming the file and the entry or keys).
    """
    if osp.realpath(dst) == osp.realpath(src):
        raise ValueError(f'output {dst} is the input file: choose another '
                         'path (inputs are never overwritten)')
    official, others = load_official_rain2avoid(src)
    state, generator, dropped = convert_official_rain2avoid(official, src)
    save_converted_checkpoint({f'generator.{k}': v
                               for k, v in state.items()},
                              dict(
                                  converted_from=osp.basename(src),
                                  source=R2A_SOURCE,
                                  generator=generator), dst)
    return generator, others + dropped
