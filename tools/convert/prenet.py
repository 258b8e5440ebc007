# Copyright (c) mmderain contributors. All rights reserved.
"""Convert an official csdwren/PReNet checkpoint into an mmderain checkpoint.

Example:
    python tools/convert/prenet.py PReNet6_rain100l.pth \
        checkpoints/prenet_t6_rain100l_official.pth
    python tools/test.py configs/prenet/prenet_t6_b18-p100-100e_rain100l.py \
        checkpoints/prenet_t6_rain100l_official.pth

The variant (PReNet, PReNet_r, PRN, PRN_r) is detected from the weights and
printed together with the matching config; the official files do not store
the number of stages (6 for every released model).
"""
import argparse

from mmderain.models.converters import (convert_official_prenet_checkpoint,
                                        prenet_variant)


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official PReNet checkpoint')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    gen = convert_official_prenet_checkpoint(args.src, args.dst)
    name = prenet_variant(gen)
    print(f'{args.src} -> {args.dst}: PReNet family variant "{name}" '
          f'({gen}); test with configs/prenet/{name}_t6_b18-p100-100e_'
          '<dataset>.py')
    return gen


if __name__ == '__main__':
    main()
