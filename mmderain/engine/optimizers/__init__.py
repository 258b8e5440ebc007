# Copyright (c) mmderain contributors. All rights reserved.
from .grouped_constructor import GroupedOptimWrapperConstructor

__all__ = ['GroupedOptimWrapperConstructor']
