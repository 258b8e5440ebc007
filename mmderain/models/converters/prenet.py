# Copyright (c) mmderain contributors. All rights reserved.
"""Official csdwren/PReNet checkpoints to :class:`PReNet` weights."""
from typing import Dict, Optional, Sequence, Tuple

import torch

from .official import convert_official_checkpoint

_OFFICIAL_GATES = ('conv_i', 'conv_f', 'conv_g', 'conv_o')
#: ``meta['source']`` of converted files.
PRENET_SOURCE = 'csdwren/PReNet'
#: Published variant (config name prefix) by ``(recurrent,
#: share_res_blocks)``.
PRENET_VARIANTS = {
    ('lstm', False): 'prenet',
    ('lstm', True): 'prenet-r',
    (None, False): 'prn',
    (None, True): 'prn-r',
}


def convert_official_prenet_family(
        official: Dict[str, torch.Tensor],
        prefixes: Sequence[str] = ('module.', ),
        extra_convs: Optional[Dict[str, str]] = None,
        name: str = 'PReNet') -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map an official PReNet-family state dict onto our module names.

    Shared by :func:`convert_official_prenet` and the VRGNet derainer
    converter. The official networks name their layers ``conv0`` (head),
    ``res_conv{k}`` (residual blocks, ``nn.Sequential`` indices 0 and 2),
    ``conv_{i,f,g,o}`` (LSTM gates, concatenated here in that order into
    the fused ``lstm.gates`` of
    :class:`~mmderain.models.layers.ConvLSTMCell`) and ``conv`` (tail);
    every layer is wrapped in an ``nn.Sequential``, hence the ``.0``.

    Args:
        official (dict[str, Tensor]): The official state dict.
        prefixes (Sequence[str]): Key prefixes stripped, in this order, where
            present (e.g. ``'module.'`` from ``nn.DataParallel``). Defaults
            to ``('module.',)``.
        extra_convs (dict[str, str], optional): Further required
            convolutions, official Sequential name (e.g. ``'convfinal.0'``)
            to our module name (e.g. ``'tail_var'``). Defaults to None.
        name (str): Network name used in error messages. Defaults to
            ``'PReNet'``.

    Returns:
        tuple[dict, dict]: Our state dict and the generator arguments it
        implies (``recurrent``, ``share_res_blocks``, ``mid_channels``).

    Raises:
        KeyError: If the dict does not look like an official one.
    """
    sd = dict(official)
    for prefix in prefixes:
        sd = {(k[len(prefix):] if k.startswith(prefix) else k): v
              for k, v in sd.items()}
    required = ['conv0.0.weight', 'conv.0.weight'
                ] + [f'{src}.weight' for src in (extra_convs or {})]
    if any(k not in sd for k in required):
        expected = ', '.join(repr(k) for k in required)
        raise KeyError(f'not an official {name} state dict: expected keys '
                       f'{expected}, got {list(sd)[:8]}')
    res_ids = sorted({
        int(k.split('.')[0][len('res_conv'):])
        for k in sd if k.startswith('res_conv')
    })
    if res_ids != list(range(1, len(res_ids) + 1)):
        raise KeyError(f'unexpected residual blocks res_conv{res_ids}')
    recurrent = 'lstm' if 'conv_i.0.weight' in sd else None
    out = {
        'head.weight': sd.pop('conv0.0.weight'),
        'head.bias': sd.pop('conv0.0.bias'),
        'tail.weight': sd.pop('conv.0.weight'),
        'tail.bias': sd.pop('conv.0.bias'),
    }
    for src, dst in (extra_convs or {}).items():
        for p in ('weight', 'bias'):
            out[f'{dst}.{p}'] = sd.pop(f'{src}.{p}')
    for k in res_ids:
        for src, dst in (('0', 'conv1'), ('2', 'conv2')):
            for p in ('weight', 'bias'):
                out[f'res_blocks.{k - 1}.{dst}.{p}'] = sd.pop(
                    f'res_conv{k}.{src}.{p}')
    if recurrent:
        for p in ('weight', 'bias'):
            out[f'lstm.gates.{p}'] = torch.cat(
                [sd.pop(f'{g}.0.{p}') for g in _OFFICIAL_GATES], 0)
    if sd:
        raise KeyError(f'unexpected keys in official {name} dict: {list(sd)}')
    args = dict(
        recurrent=recurrent,
        share_res_blocks=len(res_ids) == 1,
        mid_channels=out['head.weight'].shape[0])
    return out, args


def convert_official_prenet(official: dict) -> tuple:
    """Map a csdwren/PReNet state dict onto :class:`PReNet`.

    The official networks (``PReNet``, ``PReNet_r``, ``PRN``, ``PRN_r`` in
    ``networks.py``) name their layers ``conv0``, ``res_conv{k}``,
    ``conv_{i,f,g,o}`` and ``conv``; a ``module.`` prefix from
    ``nn.DataParallel`` is accepted. The four LSTM gate convolutions are
    concatenated (order i, f, g, o) into the fused ``lstm.gates`` of
    :class:`~mmderain.models.layers.ConvLSTMCell`.

    Args:
        official (dict): The official state dict.

    Returns:
        tuple[dict, dict]: The state dict of :class:`PReNet` and the
        generator arguments it implies (``recurrent``, ``share_res_blocks``,
        ``mid_channels``; ``num_stages`` is not stored in official files).

    Raises:
        KeyError: If the dict does not look like an official PReNet one.
    """
    return convert_official_prenet_family(official)


def prenet_variant(args: dict) -> str:
    """The published variant that converted arguments describe.

    Args:
        args (dict): Generator arguments from
            :func:`convert_official_prenet` (``recurrent``,
            ``share_res_blocks``).

    Returns:
        str: ``'prenet'``, ``'prenet-r'``, ``'prn'`` or ``'prn-r'`` (the
        prefix of the matching config in ``configs/prenet/``).
    """
    return PRENET_VARIANTS[(args['recurrent'], args['share_res_blocks'])]


def convert_official_prenet_checkpoint(src: str, dst: str) -> dict:
    """Convert an official csdwren/PReNet file into an mmderain checkpoint.

    Args:
        src (str): Official ``net_latest.pth`` (a plain state dict, or one
            under ``'state_dict'``).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': {'generator.*': ...}, 'meta': ...}``),
            written atomically.

    Returns:
        dict: The detected generator arguments.

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        KeyError: If ``src`` is not an official PReNet checkpoint.
    """
    return convert_official_checkpoint(src, dst, convert_official_prenet,
                                       'PReNet', PRENET_SOURCE)
