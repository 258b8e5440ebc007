# Copyright (c) mmderain contributors. All rights reserved.
from .archs import *  # noqa: F401,F403
from .base_models import *  # noqa: F401,F403
from .converters import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .editors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
