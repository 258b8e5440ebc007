# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet (CVPR 2021): a Bayesian rain generator trained with a derainer."""
from .sagan_critic import SAGANCritic
from .variational_losses import gaussian_kl_to_target, standard_normal_kl
from .variational_prenet import VariationalPReNet
from .vrgnet import ImageCriticInput, VRGNet
from .vrgnet_encoder import RainEncoder
from .vrgnet_generator import (RainGenerator, VRGNetOfficialInit,
                               vrgnet_weights_init)

__all__ = [
    'ImageCriticInput', 'RainEncoder', 'RainGenerator', 'SAGANCritic',
    'VRGNet', 'VRGNetOfficialInit', 'VariationalPReNet',
    'gaussian_kl_to_target', 'standard_normal_kl', 'vrgnet_weights_init'
]
