# Copyright (c) mmderain contributors. All rights reserved.
from .per_image_loop import PerImageTrainLoop, sdr_order

__all__ = ['PerImageTrainLoop', 'sdr_order']
