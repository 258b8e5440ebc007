# Copyright (c) mmderain contributors. All rights reserved.
"""Reusable layers shared by several networks."""
from .conv_builder import build_conv2d

__all__ = ['build_conv2d']
