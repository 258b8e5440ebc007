# Copyright (c) mmderain contributors. All rights reserved.
"""Convert an official Rain2Avoid checkpoint into mmderain's.

Examples:
    python tools/convert/rain2avoid.py \\
        "Rain2Avoid(Multiple)/result_all/Rain100L/model.pkl" \\
        checkpoints/r2a-unet_rain100l_official.pth

The official "Multiple" training (``train_all.py``) saves ``model.pkl``
= ``{'model': UNet state dict, 'optimizer': ..., 'scheduler': ...}``; it
is read weights-only (no code is unpickled) and only ``'model'`` is
converted. Bare state dicts of the official backbones are accepted too,
recognised by their keys (a ``module.`` prefix is accepted):

* ``UNet`` (``enc_1.conv.*``, ...) -> ``R2AUNet`` (same keys);
* ``ResNet`` (``down*``, ``up*.main.0.*``) -> ``R2AResNet`` (the aliases
  ``resnet18.*``/``resnet.*`` and the unused classifier are dropped);
* ``DnCNN`` (``dncnn.<i>.*``) -> ``DnCNN`` (``layers.<i>.*``).

The output is ``{'state_dict': {'generator.*': ...}, 'meta': ...}``,
written atomically; ``meta['generator']`` records the architecture. The
UNet needs sides that are multiples of 16 (the derainer pads). Note that
the official ``test_all.py`` never calls ``model.eval()``: its results use
batch statistics in the batch-norm layers (batch 1), not the stored
running statistics.
"""
import argparse

from mmderain.models.converters import convert_official_rain2avoid_checkpoint


def main(argv=None) -> dict:
    """Command-line entry point; returns the generator config."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[2:]))
    parser.add_argument(
        'src', help='official model.pkl or backbone state dict')
    parser.add_argument('dst', help='output mmderain checkpoint')
    args = parser.parse_args(argv)
    generator, dropped = convert_official_rain2avoid_checkpoint(
        args.src, args.dst)
    print(f'{args.src} -> {args.dst}: generator={generator}')
    if dropped:
        print(f'not converted: {", ".join(dropped)}')
    return generator


if __name__ == '__main__':
    main()
