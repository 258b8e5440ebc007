# Copyright (c) mmderain contributors. All rights reserved.
"""Evaluation: MATLAB-protocol functional metrics and MMEngine metrics."""
from .functional import calculate_psnr, calculate_ssim, rgb2ycbcr_y, ssim_map
from .metrics import MatlabNIQE, MatlabPSNR, MatlabSSIM
from .niqe import calculate_niqe, rgb2gray

__all__ = [
    'MatlabNIQE', 'MatlabPSNR', 'MatlabSSIM', 'calculate_niqe',
    'calculate_psnr', 'calculate_ssim', 'rgb2gray', 'rgb2ycbcr_y', 'ssim_map'
]
