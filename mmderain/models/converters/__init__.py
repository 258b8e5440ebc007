# Copyright (c) mmderain contributors. All rights reserved.
"""Conversion of official checkpoints, one module per source repository.

Networks do not know the official key layouts: each converter maps an
official state dict onto our module names and returns the architecture
arguments it implies, and ``convert_official_<method>_checkpoint(s)``
turns official files into an mmderain checkpoint (layout detection and
``meta`` included); ``tools/convert/*.py`` only parse arguments, call them
and print.
"""
from .brn import (brn_arch_from_state_dict, convert_official_brn,
                  convert_official_brn_checkpoint,
                  convert_official_brn_with_args, unused_official_units)
from .dlinet import convert_official_dlinet, convert_official_dlinet_checkpoint
from .official import (convert_official_checkpoint, load_official_state_dict,
                       save_converted_checkpoint)
from .prenet import (convert_official_prenet,
                     convert_official_prenet_checkpoint,
                     convert_official_prenet_family, prenet_variant)
from .rain2avoid import (convert_official_rain2avoid,
                         convert_official_rain2avoid_checkpoint,
                         load_official_rain2avoid, rain2avoid_our_key)
from .ssidkd import (convert_official_ssidkd,
                     convert_official_ssidkd_checkpoint, load_official_ssidkd,
                     ssidkd_our_key)
from .vrgnet import (convert_official_sagan_critic,
                     convert_official_vrgnet_checkpoints,
                     convert_official_vrgnet_derainer,
                     convert_official_vrgnet_ed, vrgnet_converter_for)

__all__ = [
    'brn_arch_from_state_dict', 'convert_official_brn',
    'convert_official_brn_checkpoint', 'convert_official_brn_with_args',
    'convert_official_checkpoint', 'convert_official_dlinet',
    'convert_official_dlinet_checkpoint', 'convert_official_prenet',
    'convert_official_prenet_checkpoint', 'convert_official_prenet_family',
    'convert_official_rain2avoid', 'convert_official_rain2avoid_checkpoint',
    'convert_official_sagan_critic', 'convert_official_ssidkd',
    'convert_official_ssidkd_checkpoint',
    'convert_official_vrgnet_checkpoints', 'convert_official_vrgnet_derainer',
    'convert_official_vrgnet_ed', 'load_official_rain2avoid',
    'load_official_ssidkd', 'load_official_state_dict', 'prenet_variant',
    'rain2avoid_our_key', 'save_converted_checkpoint', 'ssidkd_our_key',
    'unused_official_units', 'vrgnet_converter_for'
]
