# Copyright (c) mmderain contributors. All rights reserved.
__all__ = []
