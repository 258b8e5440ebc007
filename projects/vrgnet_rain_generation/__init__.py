# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet rain-generation experiments (not official; see README.md)."""
