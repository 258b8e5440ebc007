# Copyright (c) mmderain contributors. All rights reserved.
"""Evaluation metrics of the mmderain scope."""
from .psnr_ssim import MatlabPSNR, MatlabSSIM

__all__ = ['MatlabPSNR', 'MatlabSSIM']
