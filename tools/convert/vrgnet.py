# Copyright (c) mmderain contributors. All rights reserved.
"""Convert official VRGNet checkpoints into one mmderain checkpoint.

Examples:
    # the derainer only: tools/test.py, tools/derain.py, load_from
    python tools/convert/vrgnet.py \
        for_syn/syn100lmodels/DerainNet_state_700.pt \
        checkpoints/vrgnet-derainer_rain100l_official.pth
    # the whole joint model (derainer, encoder + generator, critic): rain
    # generation, the PReNet+ augmentation, fine-tuning with load_from
    python tools/convert/vrgnet.py DerainNet_state_700.pt ED_state_700.pt \
        D_state_700.pt checkpoints/vrgnet_rain100l_official.pth

Each source file is recognised by its keys (a ``module.`` prefix from
``nn.DataParallel`` is accepted everywhere):

========================  ==========================  =====================
official file             official keys               our keys
========================  ==========================  =====================
``DerainNet_state_*.pt``  ``derainet.conv0.0.*``,     ``generator.*``
(BNet)                    ``derainet.conv_{i,f,g,o}``  (VariationalPReNet;
                          ``.0.*``, ``res_conv{k}``,   the four gate convs
                          ``conv.0.*``,                concatenated,
                          ``convfinal.0.*``            ``convfinal`` ->
                                                       ``tail_var``)
``ED_state_*.pt``         ``encoder.main.*``          ``rain_encoder.main.*``
(EDNet, 64 or 256 px)     ``decoder.main.*``          ``rain_generator.main.*``
``D_state_*.pt``          ``l{1..4}.0.module.*``      ``critic.*`` (same
(SAGAN critic)            (+ ``l31``/``l32`` at       names, spectral-norm
                          256 px), ``attn{1,2}.*``,   ``weight_{bar,u,v}``)
                          ``last.0.*``
========================  ==========================  =====================

The output is ``{'state_dict': ..., 'meta': ...}``, written atomically;
``meta`` records the architecture of every converted part (e.g.
``meta['rain_generator'] == dict(type='RainGenerator', latent_dim=128,
base_channels=32, image_size=64)``). The official derainer hard-codes 6
stages, and the official test script truncates its outputs to uint8: test
with ``test_cfg=dict(quantize='trunc')`` to reproduce its numbers.
"""
import argparse
import os.path as osp
from typing import Callable, Dict, List, Tuple

from mmderain.models.converters import (convert_official_sagan_critic,
                                        convert_official_vrgnet_derainer,
                                        convert_official_vrgnet_ed,
                                        load_official_state_dict,
                                        save_converted_checkpoint)

SOURCE = 'hongwang01/VRGNet'


def _derainer(sd: dict) -> Dict[str, Tuple[str, dict, dict]]:
    state, args = convert_official_vrgnet_derainer(sd)
    return {'generator': ('VariationalPReNet', state, args)}


def _ed(sd: dict) -> Dict[str, Tuple[str, dict, dict]]:
    enc, gen, args = convert_official_vrgnet_ed(sd)
    return {
        'rain_encoder': ('RainEncoder', enc, args),
        'rain_generator': ('RainGenerator', gen, args)
    }


def _critic(sd: dict) -> Dict[str, Tuple[str, dict, dict]]:
    state, args = convert_official_sagan_critic(sd)
    return {'critic': ('SAGANCritic', state, args)}


def detect(state_dict: dict, src: str) -> Callable:
    """The conversion routine for an official state dict, from its keys.

    Args:
        state_dict (dict): The official state dict.
        src (str): Its file name (for the error message).

    Returns:
        Callable: ``state_dict -> {part: (type, state, args)}``.

    Raises:
        KeyError: If the keys belong to none of the official networks.
    """
    keys = [k[len('module.'):] if k.startswith('module.') else k
            for k in state_dict]
    if any(k.startswith(('derainet.', 'conv0.')) for k in keys):
        return _derainer
    if any(k.startswith(('encoder.', 'decoder.')) for k in keys):
        return _ed
    if any(k.startswith('l1.0.module.') for k in keys):
        return _critic
    raise KeyError(
        f'{src} is not an official VRGNet checkpoint: expected the keys of '
        'DerainNet_state_*.pt (derainet.*), ED_state_*.pt (encoder.*, '
        f'decoder.*) or D_state_*.pt (l1.0.module.*), got {keys[:5]} ...')


def convert(srcs: List[str], dst: str) -> Dict[str, dict]:
    """Convert official files ``srcs`` into one checkpoint ``dst``.

    Args:
        srcs (list[str]): Official ``DerainNet_state_*.pt``,
            ``ED_state_*.pt`` and/or ``D_state_*.pt`` files.
        dst (str): Output path, written atomically.

    Returns:
        dict[str, dict]: Architecture (``type`` and arguments) of every
        converted part, keyed by our attribute name (``generator``,
        ``rain_encoder``, ``rain_generator``, ``critic``).

    Raises:
        KeyError: If a file is not an official VRGNet checkpoint, or two
            files hold the same part.
    """
    state_dict, archs, origin = {}, {}, {}
    for src in srcs:
        official = load_official_state_dict(src)
        for part, (type_, state, args) in detect(official, src)(
                official).items():
            if part in archs:
                raise KeyError(f'{src} and {origin[part]} both hold the '
                               f'VRGNet {part}')
            origin[part] = src
            archs[part] = dict(type=type_, **args)
            state_dict.update({f'{part}.{k}': v for k, v in state.items()})
    meta = dict(
        converted_from=[osp.basename(s) for s in srcs],
        source=SOURCE,
        **archs)
    save_converted_checkpoint(state_dict, meta, dst)
    return archs


def main(argv=None) -> Dict[str, dict]:
    """Command-line entry point; returns the converted architectures."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='SRC... DST',
        help='official DerainNet_state_*.pt / ED_state_*.pt / D_state_*.pt '
        'files, then the output mmderain checkpoint')
    args = parser.parse_args(argv)
    if len(args.paths) < 2:
        parser.error('give at least one official file and the output path')
    *srcs, dst = args.paths
    archs = convert(srcs, dst)
    for part, arch in archs.items():
        print(f'{part}: {arch}')
    print(f'-> {dst}')
    if 'generator' in archs:
        print('test the derainer with model.generator='
              "dict(type='VariationalPReNet') and "
              "model.test_cfg=dict(quantize='trunc')")
    return archs


if __name__ == '__main__':
    main()
