# Copyright (c) mmderain contributors. All rights reserved.
"""Official BRN checkpoints (csdwren/RecDerain, CoIC) to :class:`BRN`."""
import os.path as osp
import re
from typing import Dict, List, Sequence, Tuple

import torch

from mmderain.models.archs.brn import (BRN, GATES, NUM_RAIN_RES_BLOCKS,
                                       NUM_RES_BLOCKS)
from .official import (check_layout, expected_shapes, load_official_state_dict,
                       save_converted_checkpoint)

# ---------------------------------------------------------------------- #
# official checkpoints
# ---------------------------------------------------------------------- #
#: Official single-convolution units (each ``nn.Sequential(conv, act)``
#: officially, a ``ConvUnit`` in CoIC's ``BRN_CoIM``).
CONV_UNITS = ('conv0', *GATES, 'conv', 'conv0_r', *(g + '_r'
                                                    for g in GATES), 'conv_r')
#: Official residual blocks applied by the forward pass.
RES_UNITS = (*(f'res_conv{k}' for k in range(1, NUM_RES_BLOCKS + 1)),
             *(f'res_conv{k}_r' for k in range(1, NUM_RAIN_RES_BLOCKS + 1)))
#: Residual blocks the official ``BRN`` creates but never applies.
UNUSED_UNITS = ('res_conv4_r', 'res_conv5_r')
#: ``meta['source']`` of converted files, by whether the weights are CoIC's
#: modulated ones.
BRN_SOURCES = {
    False: 'csdwren/RecDerain (or Schizophreni/CoIC baseline)',
    True: 'Schizophreni/CoIC (BRN_CoIM)',
}

_PARAM = r'(?P<param>weight|bias)'
_COIM_KEY = re.compile(r'(?P<conv>.+?)\.(?:base_conv\.conv|'
                       r'g2pa_wgen\.(?P<idx>\d+))\.' + _PARAM + '$')


def _official_convs() -> Dict[str, str]:
    """Official prefix (RecDerain layout) -> our conv name, every conv."""
    convs = {f'{u}.0': u for u in CONV_UNITS}
    for u in RES_UNITS:
        convs[f'{u}.0'] = f'{u}.conv1'
        convs[f'{u}.2'] = f'{u}.conv2'
    return convs


def _coim_convs() -> Dict[str, str]:
    """Official prefix (CoIC ``BRN_CoIM`` layout) -> our conv name."""
    convs = {f'{u}.conv': u for u in CONV_UNITS}
    for u in RES_UNITS:
        convs[f'{u}.conv1'] = f'{u}.conv1'
        convs[f'{u}.conv2'] = f'{u}.conv2'
    return convs


def _detect_layout(keys: Sequence[str]) -> str:
    if any('.base_conv.conv.' in k for k in keys):
        return 'coim'
    if 'conv0.0.weight' in keys:
        return 'official'
    raise KeyError(
        'not an official BRN state dict: expected csdwren/RecDerain or CoIC '
        "baseline keys ('conv0.0.weight', 'res_conv1.0.weight', ...) or "
        "CoIC BRN_CoIM keys ('conv0.conv.base_conv.conv.weight', "
        f"'res_conv1.conv1.base_conv.conv.weight', ...), got {list(keys)[:6]}"
        f'{" ..." if len(keys) > 6 else ""}')


def _check_shapes(out: Dict[str, torch.Tensor]) -> None:
    """Check converted tensors against the keys and shapes BRN expects.

    Raises:
        KeyError: Naming unexpected keys, or the missing keys of
            incomplete modulation MLPs.
        ValueError: Naming the first tensor of an unexpected shape, with
            the expected shape.
    """
    mid = out['conv0.weight'].shape[0]
    expected = expected_shapes(BRN, dict(num_iters=1, mid_channels=mid))
    # modulation MLPs (CoIMConv2d.g2pa): Linear(code + C_in -> C_out), ReLU,
    # Linear(C_out -> hidden), ReLU, Linear(hidden -> C_in + C_out + k * k)
    convs = [k[:-len('.weight')] for k in expected if k.endswith('.weight')]
    modulated = sorted({k[:k.index('.g2pa.')] for k in out if '.g2pa.' in k})
    if modulated:
        w0 = out.get('conv0.g2pa.0.weight')
        w2 = out.get('conv0.g2pa.2.weight')
        if w0 is None or w2 is None:
            raise KeyError("incomplete modulation MLP of 'conv0': missing "
                           "'conv0.g2pa.0.weight' or 'conv0.g2pa.2.weight'")
        code_dim, hidden = w0.shape[1] - 9, w2.shape[0]
        for conv in convs:
            cout, cin, kh, kw = expected[f'{conv}.weight']
            for i, (o, n) in enumerate(((cout, code_dim + cin), (hidden, cout),
                                        (cin + cout + kh * kw, hidden))):
                expected[f'{conv}.g2pa.{2 * i}.weight'] = (o, n)
                expected[f'{conv}.g2pa.{2 * i}.bias'] = (o, )
    check_layout(out, expected,
                 f'converted BRN state dict (mid_channels={mid} from conv0)')


def convert_official_brn(
    state_dict: Dict[str, torch.Tensor],
    prefixes: Sequence[str] = ('module.', )
) -> Dict[str, torch.Tensor]:
    """Map an official BRN state dict onto :class:`BRN`.

    Three layouts are recognised from the keys (``<unit>`` is one of
    ``conv0, conv_{i,f,g,o}, conv, conv0_r, conv_{i,f,g,o}_r, conv_r``):

    * csdwren/RecDerain ``generator.BRN`` and CoIC's baseline file:
      ``<unit>.0.*`` -> ``<unit>.*``, ``res_convK[_r].0.*`` / ``.2.*`` ->
      ``res_convK[_r].conv1.*`` / ``.conv2.*``;
    * CoIC ``BRN_CoIM``: ``<unit>.conv.base_conv.conv.*`` -> ``<unit>.*``,
      ``<unit>.conv.g2pa_wgen.N.*`` -> ``<unit>.g2pa.N.*``,
      ``res_convK[_r].convJ.base_conv.conv.*`` -> ``res_convK[_r].convJ.*``
      and ``res_convK[_r].convJ.g2pa_wgen.N.*`` ->
      ``res_convK[_r].convJ.g2pa.N.*``.

    RecDerain's files also hold
    ``res_conv4_r``/``res_conv5_r``, which the official forward never
    applies: they are dropped. A ``module.`` prefix (``nn.DataParallel``)
    is stripped. The CoIM layout gives the keys of ``BRN(conv_cfg=dict(
    type='CoIMConv2d', code_dim=D))``, ``D`` being the first MLP layer's
    input width minus the convolution's input channels (128 for the
    shipped file); see :func:`brn_arch_from_state_dict`.

    Args:
        state_dict (dict[str, Tensor]): The official state dict.
        prefixes (Sequence[str]): Key prefixes stripped, in this order,
            where present. Defaults to ``('module.',)``.

    Returns:
        dict[str, Tensor]: The state dict of :class:`BRN`.

    Raises:
        KeyError: If the dict is not an official BRN one (naming the
            missing or unexpected keys).
        ValueError: If a tensor does not have the shape BRN expects (naming
            the key and the expected shape).
    """
    sd = dict(state_dict)
    for prefix in prefixes:
        sd = {(k[len(prefix):] if k.startswith(prefix) else k): v
              for k, v in sd.items()}
    layout = _detect_layout(list(sd))
    out = {}
    if layout == 'official':
        for src, dst in _official_convs().items():
            for param in ('weight', 'bias'):
                key = f'{src}.{param}'
                if key not in sd:
                    raise KeyError(f'official BRN state dict lacks {key!r} '
                                   f'(for {dst}.{param})')
                out[f'{dst}.{param}'] = sd.pop(key)
    else:
        convs = _coim_convs()
        for key in list(sd):
            m = _COIM_KEY.match(key)
            if m is None or m['conv'] not in convs:
                continue
            dst = convs[m['conv']]
            mid = '' if m['idx'] is None else f'g2pa.{m["idx"]}.'
            out[f'{dst}.{mid}{m["param"]}'] = sd.pop(key)
        missing = [
            f'{src}.base_conv.conv.{p}' for src, dst in convs.items()
            for p in ('weight', 'bias') if f'{dst}.{p}' not in out
        ]
        if missing:
            raise KeyError(f'CoIC BRN_CoIM state dict lacks {missing[:4]}'
                           f'{" ..." if len(missing) > 4 else ""}')
    unused = [k for k in sd if k.split('.')[0] in UNUSED_UNITS]
    for k in unused:
        del sd[k]
    if sd:
        raise KeyError(f'unexpected keys in official BRN state dict: '
                       f'{list(sd)[:8]}{" ..." if len(sd) > 8 else ""}')
    _check_shapes(out)
    return out


def brn_arch_from_state_dict(state_dict: Dict[str, torch.Tensor]) -> dict:
    """The :class:`BRN` arguments a converted state dict implies.

    Args:
        state_dict (dict[str, Tensor]): A :class:`BRN` state dict, e.g. the
            output of :func:`convert_official_brn`.

    Returns:
        dict: ``mid_channels`` and, for modulated weights (``*.g2pa.*``),
        ``conv_cfg=dict(type='CoIMConv2d', code_dim=D)``. ``num_iters`` is
        not stored in weights (8 for every released model).
    """
    w = state_dict['conv0.weight']
    args = dict(mid_channels=w.shape[0])
    if 'conv0.g2pa.0.weight' in state_dict:
        code_dim = state_dict['conv0.g2pa.0.weight'].shape[1] - w.shape[1]
        args['conv_cfg'] = dict(type='CoIMConv2d', code_dim=code_dim)
    return args


def convert_official_brn_with_args(
        state_dict: Dict[str, torch.Tensor]) -> Tuple[dict, dict]:
    """:func:`convert_official_brn` and the arguments it implies.

    The signature of
    :func:`~mmderain.models.converters.convert_official_checkpoint`'s
    ``convert_fn``.

    Args:
        state_dict (dict[str, Tensor]): The official state dict.

    Returns:
        tuple[dict, dict]: The state dict of :class:`BRN` and its arguments
        (:func:`brn_arch_from_state_dict`).
    """
    out = convert_official_brn(state_dict)
    return out, brn_arch_from_state_dict(out)


def unused_official_units(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """The units of an official dict that the official forward never runs.

    Args:
        state_dict (dict[str, Tensor]): The official state dict.

    Returns:
        list[str]: Those of :data:`UNUSED_UNITS` that it holds (dropped by
        :func:`convert_official_brn`).
    """
    return [
        u for u in UNUSED_UNITS if any(
            k.startswith((f'{u}.', f'module.{u}.')) for k in state_dict)
    ]


def convert_official_brn_checkpoint(src: str,
                                    dst: str) -> Tuple[dict, List[str]]:
    """Convert an official BRN file into an mmderain checkpoint.

    Args:
        src (str): Official BRN state dict file (csdwren/RecDerain, CoIC's
            baseline or ``BRN_CoIM``; a plain state dict or one under
            ``'state_dict'``).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': {'generator.*': ...}, 'meta': ...}``),
            written atomically. ``meta`` records the file name, the source
            repository and the architecture.

    Returns:
        tuple[dict, list[str]]: The detected generator arguments
        (``mid_channels``, and ``conv_cfg`` for CoIC's modulated weights)
        and the official units dropped (never applied officially).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        KeyError: If ``src`` is not an official BRN checkpoint.
        ValueError: If a tensor has an unexpected shape.
    """
    official = load_official_state_dict(src)
    state, args = convert_official_brn_with_args(official)
    save_converted_checkpoint({f'generator.{k}': v
                               for k, v in state.items()},
                              dict(
                                  converted_from=osp.basename(src),
                                  source=BRN_SOURCES['conv_cfg' in args],
                                  generator=dict(type='BRN', **args)), dst)
    return args, unused_official_units(official)
