# Copyright (c) mmderain contributors. All rights reserved.
"""Conversion of official checkpoints, one module per source repository.

Networks do not know the official key layouts: each converter maps an
official state dict onto our module names and returns the architecture
arguments it implies; ``tools/convert/*.py`` are thin command lines over
:func:`convert_official_checkpoint`.
"""
from .brn import (brn_arch_from_state_dict, convert_official_brn,
                  convert_official_brn_with_args)
from .dlinet import convert_official_dlinet
from .official import (convert_official_checkpoint, load_official_state_dict,
                       save_converted_checkpoint)
from .prenet import convert_official_prenet, convert_official_prenet_family
from .vrgnet import (convert_official_sagan_critic,
                     convert_official_vrgnet_derainer,
                     convert_official_vrgnet_ed)

__all__ = [
    'brn_arch_from_state_dict', 'convert_official_brn',
    'convert_official_brn_with_args', 'convert_official_checkpoint',
    'convert_official_dlinet', 'convert_official_prenet',
    'convert_official_prenet_family', 'convert_official_sagan_critic',
    'convert_official_vrgnet_derainer', 'convert_official_vrgnet_ed',
    'load_official_state_dict', 'save_converted_checkpoint'
]
