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

from mmderain.models.converters import convert_official_dlinet_checkpoint


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official DLINet checkpoint')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    gen = convert_official_dlinet_checkpoint(args.src, args.dst)
    print(f'{args.src} -> {args.dst}: DLINet {gen}')
    return gen


if __name__ == '__main__':
    main()
