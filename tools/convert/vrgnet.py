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
from typing import Dict

from mmderain.models.converters import convert_official_vrgnet_checkpoints


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
    archs = convert_official_vrgnet_checkpoints(srcs, dst)
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
