# Copyright (c) mmderain contributors. All rights reserved.
"""Convert an official SSID-KD checkpoint into mmderain's.

Examples:
    python tools/convert/ssidkd.py trained_model/Rain200H+Real/net_latest \\
        checkpoints/ssidkd_rain200h-real_official.pth

The official training saves ``net_latest`` = ``{'net': ODE_DerainNet state
dict, 'clock_net': step, 'opt_net': Adam state}``; it is read weights-only
(no code is unpickled) and only ``'net'`` is converted (a bare state dict
is accepted too). The ``module.`` prefix (``nn.DataParallel``) is removed,
and the aliases ``units.0`` ... ``units.<n-1>`` of each weight-tied
``DenseConnection`` unit, checked equal, become our single shared ``unit``.

The output is ``{'state_dict': {'generator.*': ...}, 'meta': ...}``,
written atomically; ``meta['generator']`` records the architecture
(``SSIDKDNet``). The official teacher is trained on BGR images (mmderain
feeds RGB).
"""
import argparse

from mmderain.models.converters import convert_official_ssidkd_checkpoint


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator config."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument('src', help='official net_latest or state dict')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    generator, dropped = convert_official_ssidkd_checkpoint(args.src, args.dst)
    print(f'{args.src} -> {args.dst}: generator={generator}')
    if dropped:
        print(f'not converted: {", ".join(dropped)}')
    return generator


if __name__ == '__main__':
    main()
