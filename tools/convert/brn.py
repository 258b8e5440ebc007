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

from mmderain.models.converters import convert_official_brn_checkpoint


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator arguments."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('src', help='official BRN checkpoint')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    gen, dropped = convert_official_brn_checkpoint(args.src, args.dst)
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
