# Copyright (c) mmderain contributors. All rights reserved.
"""Reusable layers shared by several networks."""
from .conv_builder import build_conv2d
from .conv_lstm import ConvLSTMCell

__all__ = ['ConvLSTMCell', 'build_conv2d']
