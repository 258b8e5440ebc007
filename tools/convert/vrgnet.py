# Copyright (c) mmderain contributors. All rights reserved.
"""Convert an official VRGNet derainer checkpoint into an mmderain checkpoint.

Example:
    python tools/convert/vrgnet.py \
        for_syn/syn100lmodels/DerainNet_state_700.pt \
        checkpoints/vrgnet-derainer_rain100l_official.pth

The official files (``DerainNet_state_*.pt``, hongwang01/VRGNet) hold the
joint-training derainer (BNet, a variational PReNet) as a plain state dict
with ``derainet.`` keys; they become the ``generator.`` weights of a
``BaseDerainer`` with ``generator=dict(type='VariationalPReNet')``. The
official network hard-codes 6 stages. The official test script truncates its
outputs to uint8: test with ``test_cfg=dict(quantize='trunc')`` to reproduce
its numbers. The encoder/generator/critic files (``ED_state_*.pt``,
``D_state_*.pt``) are not derainers and are refused.
"""
import argparse

from mmderain.models.archs.variational_prenet import \
    convert_official_vrgnet_derainer
from mmderain.utils import convert_official_checkpoint


def convert(src: str, dst: str) -> dict:
    """Convert ``src`` (official) into ``dst`` (mmderain); returns args.

    Args:
        src (str): Official ``DerainNet_state_*.pt`` (a plain state dict).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': ..., 'meta': ...}``), written atomically.

    Returns:
        dict: The detected generator arguments.
    """
    return convert_official_checkpoint(src, dst,
                                       convert_official_vrgnet_derainer,
                                       'VariationalPReNet',
                                       'hongwang01/VRGNet')


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'src', help='official VRGNet derainer (DerainNet_state_*.pt)')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    gen = convert(args.src, args.dst)
    print(f'{args.src} -> {args.dst}: VRGNet derainer ({gen}); test with '
          "model.generator=dict(type='VariationalPReNet') and "
          "model.test_cfg=dict(quantize='trunc')")
    return gen


if __name__ == '__main__':
    main()
