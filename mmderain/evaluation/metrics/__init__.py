# Copyright (c) mmderain contributors. All rights reserved.
"""Evaluation metrics of the mmderain scope."""
from .niqe import MatlabNIQE
from .psnr_ssim import MatlabPSNR, MatlabSSIM

__all__ = ['MatlabNIQE', 'MatlabPSNR', 'MatlabSSIM']
