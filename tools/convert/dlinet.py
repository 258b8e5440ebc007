# Copyright (c) mmderain contributors. All rights reserved.
"""Convert an official lwcbbd/DLINet_2023TIP checkpoint into mmderain's.

Example:
    python tools/convert/dlinet.py model_best.pt \
        checkpoints/dlinet_rain200h_official.pth

The official ``model_{best,latest}.pt`` files are bare ``DLINET`` state
dicts (a ``module.``/``model.`` prefix or a ``{'state_dict': ...}`` wrapper
is accepted too). The stage (``first``: joint, needs the clean image;
``second``: deployed), ``num_masks`` and ``num_msa_blocks`` are read from the
weights and printed. The network works on RGB images in [0, 255].
"""
import argparse

from mmderain.models.converters import (convert_official_checkpoint,
                                        convert_official_dlinet)


def convert(src: str, dst: str) -> dict:
    """Convert ``src`` (official) into ``dst`` (mmderain); returns args.

    Args:
        src (str): Official checkpoint (a plain ``DLINET`` state dict).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': ..., 'meta': ...}``), written atomically.

    Returns:
        dict: The detected generator arguments.
    """
    return convert_official_checkpoint(src, dst, convert_official_dlinet,
                                       'DLINet', 'lwcbbd/DLINet_2023TIP')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official DLINet checkpoint')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args()
    gen = convert(args.src, args.dst)
    print(f'{args.src} -> {args.dst}: DLINet {gen}')


if __name__ == '__main__':
    main()
