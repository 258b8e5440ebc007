# Copyright (c) mmderain contributors. All rights reserved.
"""SSID-KD (IEEE TCSVT): semi-supervised deraining, teacher -> student."""
from .ssidkd_derainer import KD_MODES, SSIDKDDerainer

__all__ = ['KD_MODES', 'SSIDKDDerainer']
