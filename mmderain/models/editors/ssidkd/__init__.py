# Copyright (c) mmderain contributors. All rights reserved.
"""SSID-KD (IEEE TCSVT): semi-supervised deraining, a three-scale densely
connected encoder-decoder pyramid."""
from .ssidkd_net import (DenseUnits, InnerScaleBlock, MultiScaleFusionBlock,
                         SSIDKDNet, SSIDKDUnit, ssidkd_parameter_counts)

__all__ = [
    'DenseUnits', 'InnerScaleBlock', 'MultiScaleFusionBlock', 'SSIDKDNet',
    'SSIDKDUnit', 'ssidkd_parameter_counts'
]
