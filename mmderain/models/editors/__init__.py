# Copyright (c) mmderain contributors. All rights reserved.
"""Methods with networks or a training step of their own, one folder each.

See ``docs/adding_a_method.md`` for what goes here and what stays generic.
"""
from .coic import *  # noqa: F401,F403
from .dlinet import *  # noqa: F401,F403
from .ssidkd import *  # noqa: F401,F403
from .vrgnet import *  # noqa: F401,F403
