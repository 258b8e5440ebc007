# Copyright (c) mmderain contributors. All rights reserved.
"""Official hongwang01/VRGNet checkpoints: derainer, rain encoder and
generator, critic."""
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Tuple

import torch

from mmderain.models.editors.vrgnet.sagan_critic import SAGANCritic
from mmderain.models.editors.vrgnet.variational_prenet import \
    OFFICIAL_NUM_STAGES
from mmderain.models.editors.vrgnet.vrgnet_encoder import (VRGNET_DEPTHS,
                                                           RainEncoder)
from mmderain.models.editors.vrgnet.vrgnet_generator import RainGenerator
from .official import (check_layout, expected_shapes, load_official_state_dict,
                       save_converted_checkpoint)
from .prenet import convert_official_prenet_family

#: ``meta['source']`` of converted files.
VRGNET_SOURCE = 'hongwang01/VRGNet'


def convert_official_vrgnet_derainer(
        official: Dict[str,
                       torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], dict]:
    """Map an official VRGNet ``DerainNet_state_*.pt`` onto our derainer.

    The official ``Derain`` module holds the network as ``derainet``
    (sic): keys ``derainet.conv0.0.*``, ``derainet.conv_{i,f,g,o}.0.*``,
    ``derainet.res_conv{1..5}.{0,2}.*``, ``derainet.conv.0.*`` and
    ``derainet.convfinal.0.*``. A ``module.`` prefix (``nn.DataParallel``)
    and a missing ``derainet.`` prefix (the bare ``PReNet``) are accepted.
    The layers are mapped as by
    :func:`~mmderain.models.converters.convert_official_prenet` (the four
    gate convolutions are concatenated), ``convfinal`` becoming
    ``tail_var``.

    Args:
        official (dict[str, Tensor]): The official state dict.

    Returns:
        tuple[dict, dict]: The state dict of :class:`VariationalPReNet` and
        its generator arguments (``num_stages`` is always
        :data:`OFFICIAL_NUM_STAGES`, hard-coded in the official network).

    Raises:
        KeyError: If the dict is not an official VRGNet derainer.
    """
    state, args = convert_official_prenet_family(
        official,
        prefixes=('module.', 'derainet.'),
        extra_convs={'convfinal.0': 'tail_var'},
        name='VRGNet derainer')
    if args['recurrent'] != 'lstm':
        raise KeyError('not an official VRGNet derainer: the LSTM gates '
                       'conv_{i,f,g,o} are missing')
    num_res_blocks = 1 + max(
        int(k.split('.')[1]) for k in state if k.startswith('res_blocks.'))
    in_channels = state['tail.weight'].shape[0]
    return state, dict(
        num_stages=OFFICIAL_NUM_STAGES,
        mid_channels=args['mid_channels'],
        num_res_blocks=num_res_blocks,
        in_channels=in_channels)


def convert_official_sagan_critic(
        state_dict: Mapping[str, torch.Tensor]) -> Tuple[dict, dict]:
    """Map an official VRGNet critic state dict onto :class:`SAGANCritic`.

    The mapping is the identity once a leading ``module.`` (from
    ``nn.DataParallel``) is stripped; the ``.module.`` inside spectral-norm
    keys (``l1.0.module.weight_bar``) is kept. ``image_size`` and
    ``conv_dim`` are inferred (256 px iff ``l31``/``l32`` are present). The
    tensors are not copied.

    Args:
        state_dict (Mapping[str, Tensor]): Official ``D_state_*.pt`` dict.

    Returns:
        tuple[dict, dict]: Our state dict and the constructor arguments
        (``image_size``, ``conv_dim``).

    Raises:
        KeyError: If keys are missing or unexpected (their names are given).
        ValueError: If a tensor has the wrong shape, or a 256-px dict has
            ``conv_dim != 16``.
    """
    sd = OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                     for k, v in state_dict.items())
    first = 'l1.0.module.weight_bar'
    if first not in sd:
        raise KeyError(f'official VRGNet critic state dict is missing '
                       f"'{first}' (got {list(sd)[:6]} ...)")
    image_size = 256 if any(k.startswith('l31.') for k in sd) else 64
    args = dict(image_size=image_size, conv_dim=int(sd[first].shape[0]))
    check_layout(sd, expected_shapes(SAGANCritic, args),
                 'official VRGNet critic state dict')
    return sd, args


def convert_official_vrgnet_ed(
        state_dict: Mapping[str, torch.Tensor]) -> Tuple[dict, dict, dict]:
    """Split an official ``EDNet`` state dict into ours.

    Accepts the dict of an official ``ED_state_*.pt`` (keys
    ``encoder.main.*`` and ``decoder.main.*``, optionally all prefixed with
    ``module.``) for the 64-px (``vrgnet.py``) or 256-px (``vrgnet_256.py``)
    network. ``image_size``, ``latent_dim`` and ``base_channels`` are
    inferred from the shapes; the tensors themselves are not copied.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.

    Returns:
        tuple[dict, dict, dict]: ``(encoder_sd, generator_sd, args)``: state
        dicts for :class:`RainEncoder` and :class:`RainGenerator`, and the
        constructor arguments of both (``latent_dim``, ``base_channels``,
        ``image_size``), e.g. ``RainGenerator(**args).load_state_dict(
        generator_sd)``.

    Raises:
        KeyError: If keys are missing or unexpected (their names are given).
        ValueError: If the architecture cannot be inferred or a tensor has
            the wrong shape.
    """
    enc, dec, other = OrderedDict(), OrderedDict(), []
    for key, value in state_dict.items():
        k = key[len('module.'):] if key.startswith('module.') else key
        if k.startswith('encoder.'):
            enc[k[len('encoder.'):]] = value
        elif k.startswith('decoder.'):
            dec[k[len('decoder.'):]] = value
        else:
            other.append(key)
    if other:
        raise KeyError('unexpected keys in official VRGNet ED state dict '
                       f'(expected encoder.* / decoder.*): {other}')
    if 'main.0.weight' not in enc:
        raise KeyError('official VRGNet ED state dict is missing '
                       "'encoder.main.0.weight'")
    convs = [k for k, v in enc.items() if k.endswith('weight') and v.ndim == 4]
    depth = len(convs) - 1
    sizes = {d: size for size, d in VRGNET_DEPTHS.items()}
    if depth not in sizes:
        raise ValueError(
            f'cannot infer image_size: the official encoder has {len(convs)} '
            'convolutions (expected 5 for 64 px or 7 for 256 px)')
    image_size = sizes[depth]
    linear_key = f'main.{2 * depth + 3}.weight'
    if linear_key not in enc:
        raise KeyError(f"official VRGNet ED state dict is missing "
                       f"'encoder.{linear_key}'")
    out_features = enc[linear_key].shape[0]
    if out_features % 2:
        raise ValueError('the encoder output size must be 2 * latent_dim, '
                         f'got {out_features}')
    args = dict(
        latent_dim=out_features // 2,
        base_channels=int(enc['main.0.weight'].shape[0]),
        image_size=image_size)
    check_layout(enc, expected_shapes(RainEncoder, args),
                 'official VRGNet encoder state dict')
    check_layout(dec, expected_shapes(RainGenerator, args),
                 'official VRGNet decoder state dict')
    return enc, dec, args


# ---------------------------------------------------------------------- #
# official files -> one checkpoint
# ---------------------------------------------------------------------- #
_Parts = Dict[str, Tuple[str, dict, dict]]


def _derainer_parts(sd: dict) -> _Parts:
    state, args = convert_official_vrgnet_derainer(sd)
    return {'generator': ('VariationalPReNet', state, args)}


def _ed_parts(sd: dict) -> _Parts:
    enc, gen, args = convert_official_vrgnet_ed(sd)
    return {
        'rain_encoder': ('RainEncoder', enc, args),
        'rain_generator': ('RainGenerator', gen, args)
    }


def _critic_parts(sd: dict) -> _Parts:
    state, args = convert_official_sagan_critic(sd)
    return {'critic': ('SAGANCritic', state, args)}


def vrgnet_converter_for(state_dict: Mapping[str, torch.Tensor],
                         src: str) -> Callable[[dict], _Parts]:
    """The conversion routine of an official VRGNet file, from its keys.

    Args:
        state_dict (Mapping[str, Tensor]): The official state dict.
        src (str): Its file name (for the error message).

    Returns:
        Callable: ``state_dict -> {part: (type, state, args)}``, ``part``
        being our attribute name (``generator``, ``rain_encoder`` and
        ``rain_generator``, or ``critic``).

    Raises:
        KeyError: If the keys belong to none of the official networks.
    """
    keys = [
        k[len('module.'):] if k.startswith('module.') else k
        for k in state_dict
    ]
    if any(k.startswith(('derainet.', 'conv0.')) for k in keys):
        return _derainer_parts
    if any(k.startswith(('encoder.', 'decoder.')) for k in keys):
        return _ed_parts
    if any(k.startswith('l1.0.module.') for k in keys):
        return _critic_parts
    raise KeyError(
        f'{src} is not an official VRGNet checkpoint: expected the keys of '
        'DerainNet_state_*.pt (derainet.*), ED_state_*.pt (encoder.*, '
        f'decoder.*) or D_state_*.pt (l1.0.module.*), got {keys[:5]} ...')


def convert_official_vrgnet_checkpoints(srcs: List[str],
                                        dst: str) -> Dict[str, dict]:
    """Convert official VRGNet files into one mmderain checkpoint.

    Each file is recognised by its keys (:func:`vrgnet_converter_for`).

    Args:
        srcs (list[str]): Official ``DerainNet_state_*.pt``,
            ``ED_state_*.pt`` and/or ``D_state_*.pt`` files.
        dst (str): Output path, written atomically:
            ``{'state_dict': {'<part>.*': ...}, 'meta': ...}`` with the
            architecture of every part in ``meta['<part>']``.

    Returns:
        dict[str, dict]: Architecture (``type`` and arguments) of every
        converted part, keyed by our attribute name (``generator``,
        ``rain_encoder``, ``rain_generator``, ``critic``).

    Raises:
        FileNotFoundError: If a file does not exist.
        KeyError: If a file is not an official VRGNet checkpoint, or two
            files hold the same part.
    """
    state_dict, archs, origin = {}, {}, {}
    for src in srcs:
        official = load_official_state_dict(src)
        parts = vrgnet_converter_for(official, src)(official)
        for part, (type_, state, args) in parts.items():
            if part in archs:
                raise KeyError(f'{src} and {origin[part]} both hold the '
                               f'VRGNet {part}')
            origin[part] = src
            archs[part] = dict(type=type_, **args)
            state_dict.update({f'{part}.{k}': v for k, v in state.items()})
    meta = dict(
        converted_from=[osp.basename(s) for s in srcs],
        source=VRGNET_SOURCE,
        **archs)
    save_converted_checkpoint(state_dict, meta, dst)
    return archs
