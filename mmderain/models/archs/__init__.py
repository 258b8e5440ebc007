# Copyright (c) mmderain contributors. All rights reserved.
from .brn import BRN, convert_official_brn
from .coic_encoder import CoICEncoder, MomentumEncoder
from .dlinet import DLINet, convert_official_dlinet
from .prenet import PReNet, convert_official_prenet
from .sagan_critic import SAGANCritic, convert_official_sagan_critic
from .variational_prenet import VariationalPReNet
from .vrgnet_encoder import RainEncoder
from .vrgnet_generator import (RainGenerator, convert_official_vrgnet_ed,
                               init_vrgnet_networks, tie_output_channels,
                               vrgnet_kaiming_init, vrgnet_weights_init)

__all__ = [
    'BRN', 'CoICEncoder', 'DLINet', 'MomentumEncoder', 'PReNet',
    'RainEncoder', 'RainGenerator', 'SAGANCritic',
    'VariationalPReNet',
    'convert_official_brn',
    'convert_official_dlinet', 'convert_official_prenet',
    'convert_official_sagan_critic', 'convert_official_vrgnet_ed',
    'vrgnet_kaiming_init', 'vrgnet_weights_init', 'tie_output_channels',
    'init_vrgnet_networks'
]
