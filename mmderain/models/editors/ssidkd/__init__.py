# Copyright (c) mmderain contributors. All rights reserved.
"""SSID-KD (IEEE TCSVT): semi-supervised deraining with a three-scale
densely connected encoder-decoder pyramid, teacher -> student."""
from .ssidkd_derainer import KD_MODES, SSIDKDDerainer
from .ssidkd_net import SSIDKDNet, ssidkd_parameter_counts
from .ssidkd_units import (DenseUnits, InnerScaleBlock, MultiScaleFusionBlock,
                           SSIDKDUnit)

__all__ = [
    'DenseUnits', 'InnerScaleBlock', 'KD_MODES', 'MultiScaleFusionBlock',
    'SSIDKDDerainer', 'SSIDKDNet', 'SSIDKDUnit', 'ssidkd_parameter_counts'
]
