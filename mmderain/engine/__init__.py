# Copyright (c) mmderain contributors. All rights reserved.
from .derain_runner import DerainRunner  # noqa: F401
from .hooks import *  # noqa: F401,F403
from .loops import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
