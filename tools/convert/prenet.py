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

from mmderain.models.converters import (convert_official_checkpoint,
                                        convert_official_prenet)

VARIANT_CONFIGS = {
    ('lstm', False): 'prenet',
    ('lstm', True): 'prenet-r',
    (None, False): 'prn',
    (None, True): 'prn-r',
}


def convert(src: str, dst: str) -> dict:
    """Convert ``src`` (official) into ``dst`` (mmderain); returns args.

    Args:
        src (str): Official ``net_latest.pth`` (a plain state dict).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': ..., 'meta': ...}``), written atomically.

    Returns:
        dict: The detected generator arguments.
    """
    return convert_official_checkpoint(src, dst, convert_official_prenet,
                                       'PReNet', 'csdwren/PReNet')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official PReNet checkpoint')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args()
    gen = convert(args.src, args.dst)
    name = VARIANT_CONFIGS[(gen['recurrent'], gen['share_res_blocks'])]
    print(f'{args.src} -> {args.dst}: PReNet family variant "{name}" '
          f'({gen}); test with configs/prenet/{name}_t6_b18-p100-100e_'
          '<dataset>.py')


if __name__ == '__main__':
    main()
