# Copyright (c) mmderain contributors. All rights reserved.
from .derain_data_preprocessor import DerainDataPreprocessor
from .generated_rain_augment import GeneratedRainAugment

__all__ = ['DerainDataPreprocessor', 'GeneratedRainAugment']
