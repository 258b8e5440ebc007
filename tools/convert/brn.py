# Copyright (c) mmderain contributors. All rights reserved.
"""Convert an official BRN checkpoint (RecDerain or CoIC) into mmderain's.

Examples:
    python tools/convert/brn.py BRN_rain100l.pth \\
        checkpoints/brn_t8_rain100l_official.pth
    python tools/test.py configs/brn/brn_t8_b12-p100-100e_rain100l.py \\
        checkpoints/brn_t8_rain100l_official.pth

Three layouts are recognised from the keys (a ``module.`` prefix from
``nn.DataParallel`` is accepted):

* csdwren/RecDerain ``logs/*/BRN/net_latest.pth`` (``conv0.0.*``,
  ``res_conv1.0.*``, ...; the unused ``res_conv4_r``/``res_conv5_r`` are
  dropped);
* CoIC's ``checkpoints/Baseline/brn_model.pth`` (the same layout);
* CoIC's ``checkpoints/CoIC/brn_model.pth`` (``BRN_CoIM``:
  ``conv0.conv.base_conv.conv.*``, ``conv0.conv.g2pa_wgen.{0,2,4}.*``,
  ...), converted for ``BRN(conv_cfg=dict(type='CoIMConv2d',
  code_dim=128))``.

The output is ``{'state_dict': {'generator.*': ...}, 'meta': ...}``,
written atomically; ``meta['generator']`` records the architecture. The
official files do not store the number of recurrent iterations (8 for every
released model), and the official test script truncates its outputs to
uint8: the BRN configs test with ``test_cfg=dict(quantize='trunc')``.
"""
import argparse
import os.path as osp
from typing import List, Tuple

from mmderain.models.converters import (brn_arch_from_state_dict,
                                        convert_official_brn,
                                        load_official_state_dict,
                                        save_converted_checkpoint)
from mmderain.models.converters.brn import UNUSED_UNITS

SOURCES = {
    False: 'csdwren/RecDerain (or Schizophreni/CoIC baseline)',
    True: 'Schizophreni/CoIC (BRN_CoIM)',
}


def convert(src: str, dst: str) -> Tuple[dict, List[str]]:
    """Convert ``src`` (official) into ``dst`` (mmderain).

    Args:
        src (str): Official BRN state dict file.
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': {'generator.*': ...}, 'meta': ...}``, as
            :func:`mmderain.models.converters.convert_official_checkpoint`
            writes it), written atomically.

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
    state = convert_official_brn(official)
    args = brn_arch_from_state_dict(state)
    dropped = [
        u for u in UNUSED_UNITS if any(
            k.startswith((f'{u}.', f'module.{u}.')) for k in official)
    ]
    save_converted_checkpoint(
        {f'generator.{k}': v
         for k, v in state.items()},
        dict(
            converted_from=osp.basename(src),
            source=SOURCES['conv_cfg' in args],
            generator=dict(type='BRN', **args)), dst)
    return args, dropped


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('src', help='official BRN checkpoint')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    gen, dropped = convert(args.src, args.dst)
    print(f'{args.src} -> {args.dst}: BRN {gen}')
    if dropped:
        print(f'dropped {", ".join(dropped)}: created but never applied by '
              'the official forward')
    if 'conv_cfg' in gen:
        print('CoIC modulated weights: build the generator with '
              f"conv_cfg={gen['conv_cfg']} (codes from a CoIC encoder)")
    else:
        print('test with configs/brn/brn_t8_b12-p100-100e_<dataset>.py')
    return gen


if __name__ == '__main__':
    main()
