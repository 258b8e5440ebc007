# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet (CVPR 2021): a Bayesian rain generator trained with a derainer."""
from .diversity_loss import diversity_ratio, diversity_sensitive_loss
from .sagan_critic import SAGANCritic
from .variational_losses import gaussian_kl_to_target, standard_normal_kl
from .variational_prenet import VariationalPReNet
from .vrgnet import VRGNet
from .vrgnet_encoder import RainEncoder
from .vrgnet_generator import (RainGenerator, init_vrgnet_networks,
                               tie_output_channels, vrgnet_kaiming_init,
                               vrgnet_weights_init)

__all__ = [
    'RainEncoder', 'RainGenerator', 'SAGANCritic', 'VRGNet',
    'VariationalPReNet', 'diversity_ratio', 'diversity_sensitive_loss',
    'gaussian_kl_to_target', 'init_vrgnet_networks', 'standard_normal_kl',
    'tie_output_channels', 'vrgnet_kaiming_init', 'vrgnet_weights_init'
]
