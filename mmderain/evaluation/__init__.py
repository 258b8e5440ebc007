# Copyright (c) mmderain contributors. All rights reserved.
"""Evaluation: MATLAB-protocol functional metrics and MMEngine metrics."""
from .functional import calculate_psnr, calculate_ssim, rgb2ycbcr_y, ssim_map
from .metrics import MatlabPSNR, MatlabSSIM

__all__ = [
    'MatlabPSNR', 'MatlabSSIM', 'calculate_psnr', 'calculate_ssim',
    'rgb2ycbcr_y', 'ssim_map'
]
