# Copyright (c) mmderain contributors. All rights reserved.
"""NIQE, the no-reference score of the official MATLAB ``niqe_release``.

NIQE (Mittal, Soundararajan, Bovik, "Making a 'Completely Blind' Image
Quality Analyzer", IEEE SPL 2013) scores an image without a clean reference:
the distance of the statistics of its 96x96 blocks to a Gaussian model of
pristine natural images (lower is better). The deraining literature scores
real rainy photos with the authors' MATLAB code (``niqe_release.zip``,
``computequality(im, 96, 96, 0, 0, mu_prisparam, cov_prisparam)``), which

1. converts an RGB ``uint8`` image with ``rgb2gray`` (rounded to ``uint8``),
2. keeps the top-left ``floor(H / 96) * 96 x floor(W / 96) * 96`` corner,
3. computes 18 features of every 96x96 block of the MSCN image (7x7
   Gaussian window, sigma 7/6, 'replicate' borders), and again on the image
   ``imresize``-d by 0.5 (bicubic, antialiased) with 48x48 blocks,
4. fits a Gaussian to the 36-D block features and returns its distance to
   the pristine model (``modelparameters.mat``).

Steps 2-4 are mmagic's port (``mmagic.evaluation.metrics.niqe``, its
``niqe_pris_params.npz`` holds the official ``mu_prisparam`` /
``cov_prisparam``); it reproduces the published MATLAB R2021a value of
``computequality`` on the Y channel of BasicSR's ``baboon.png``,
5.72957338, to 2e-6 (``tests/test_evaluation/test_niqe.py``). Its MSCN
image at full scale is float32; in float64 one AGGD shape estimate of that
image moves to the next point of the 0.001 grid and the score to 5.72996,
4e-4 away, so the port is used as it is.

What is MATLAB's here and not mmagic's is the colour conversion (step 1):
mmagic's 'gray' is OpenCV's ``0.299 R + 0.587 G + 0.114 B`` in float32,
which rounds 2037 of the 236160 pixels of ``baboon.png`` differently from
MATLAB's ``rgb2gray`` and changes its score from 5.7496 to 5.7315.
:func:`rgb2gray` is MATLAB's (weights: the first row of the inverse of the
NTSC matrix, as ``rgb2gray.m`` computes them; rounding half away from
zero).

MATLAB's Image Processing Toolbox function ``niqe`` (R2017b on) is another
implementation with another default model; its scores differ from
``niqe_release``'s (pyiqa's calibration table lists e.g. 7.20 against 15.75
for one image) and are not what this module computes.
"""
import warnings

import numpy as np

from mmderain.utils.imports import quiet_mmagic_import
from .functional import _check_channel_order, _crop, rgb2ycbcr_y

with quiet_mmagic_import():
    from mmagic.evaluation.metrics.niqe import niqe as _mmagic_niqe

__all__ = ['BLOCK_SIZE', 'calculate_niqe', 'rgb2gray']

#: Side of the square blocks of ``computequality`` (the official 96).
BLOCK_SIZE = 96

# rgb2gray.m: coef = T(1, :) with T = inv(NTSC matrix of rgb2ntsc).
_NTSC = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647],
                  [1.0, -1.106, 1.703]])
_GRAY_COEFFS = np.linalg.inv(_NTSC)[0]

_CONVERSIONS = ('gray', 'Y')


def _check_convert_to(convert_to: str) -> str:
    """Validate ``convert_to`` ('gray' or 'Y', case-insensitive).

    Args:
        convert_to (str): Colour conversion of an RGB image.

    Returns:
        str: 'gray' or 'Y'.

    Raises:
        ValueError: On anything else.
    """
    for name in _CONVERSIONS:
        if isinstance(convert_to, str) and convert_to.lower() == name.lower():
            return name
    raise ValueError(f"convert_to must be 'gray' or 'Y', got {convert_to!r}.")


def _round_half_up(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``round`` for non-negative values (half away from zero)."""
    return np.floor(x + 0.5)


def _as_uint8_levels(img: np.ndarray) -> np.ndarray:
    """The 8-bit image MATLAB reads: clipped to [0, 255], rounded, float64.

    Args:
        img (np.ndarray): HxW or HxWxC image, uint8 or float in [0, 255].

    Returns:
        np.ndarray: float64 HxWxC array of integer levels.

    Raises:
        ValueError: If the array is not 2-D or 3-D.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError('img must be an HxW or HxWxC array, '
                         f'got shape {img.shape}.')
    img = img.astype(np.float64)
    if not np.isfinite(img).all():
        raise ValueError('img has NaN or infinite values.')
    return _round_half_up(np.clip(img, 0., 255.))


def rgb2gray(img: np.ndarray, channel_order: str = 'RGB') -> np.ndarray:
    """MATLAB ``rgb2gray`` of an 8-bit image (rounded to integer levels).

    Args:
        img (np.ndarray): HxWx3 image, uint8 or float in [0, 255]; floats
            are first clipped and rounded to 8-bit levels.
        channel_order (str): 'RGB' or 'BGR'. Default: 'RGB'.

    Returns:
        np.ndarray: float64 HxW array of integers in [0, 255].

    Raises:
        ValueError: On a bad ``channel_order`` or an image that is not
            three-channel.
    """
    order = _check_channel_order(channel_order)
    img = _as_uint8_levels(img)
    if img.shape[2] != 3:
        raise ValueError(f'img must have 3 channels, got shape {img.shape}.')
    if order == 'BGR':
        img = img[..., ::-1]
    return _round_half_up(img @ _GRAY_COEFFS)


def _luminance(img: np.ndarray, convert_to: str,
               channel_order: str) -> np.ndarray:
    """The 8-bit single-channel image ``computequality`` works on."""
    levels = _as_uint8_levels(img)
    if levels.shape[2] == 1:
        return levels[..., 0]
    if levels.shape[2] != 3:
        raise ValueError('img must have 1 or 3 channels, '
                         f'got shape {levels.shape}.')
    if convert_to == 'gray':
        return rgb2gray(levels, channel_order)
    # rgb2ycbcr of a uint8 image: uint8 Y
    return _round_half_up(rgb2ycbcr_y(levels, channel_order) * 255.)


def calculate_niqe(img: np.ndarray,
                   crop_border: int = 0,
                   convert_to: str = 'gray',
                   channel_order: str = 'RGB') -> float:
    """NIQE of one image, as MATLAB ``computequality`` computes it.

    Args:
        img (np.ndarray): HxW, HxWx1 or HxWx3 image, uint8 or float in
            [0, 255]. Floats are clipped to [0, 255] and rounded to 8-bit
            levels first, as writing and reading back an 8-bit image
            would (a no-op on predictions quantised by
            ``test_cfg.quantize``).
        crop_border (int): Pixels removed on every side first. Default: 0.
        convert_to (str): Conversion of a three-channel image: 'gray'
            (MATLAB ``rgb2gray``, what ``computequality`` does) or 'Y'
            (the Y of MATLAB ``rgb2ycbcr``, rounded, the convention of
            BasicSR and mmagic). Default: 'gray'.
        channel_order (str): 'RGB' or 'BGR' for three channels.
            Default: 'RGB'.

    Returns:
        float: The NIQE score (lower is better); NaN if fewer than two
        blocks have finite features (e.g. a constant image).

    Raises:
        ValueError: On bad arguments, or an image with fewer than two
            96x96 blocks after cropping (the block covariance needs two).
    """
    convert_to = _check_convert_to(convert_to)
    _check_channel_order(channel_order)
    lum = _luminance(img, convert_to, channel_order)
    lum = _crop(lum[..., None], crop_border)[..., 0]
    h, w = lum.shape
    blocks = (h // BLOCK_SIZE) * (w // BLOCK_SIZE)
    if blocks < 2:
        raise ValueError(
            f'NIQE needs at least two {BLOCK_SIZE}x{BLOCK_SIZE} blocks, '
            f'the image is {h}x{w} (HxW) after crop_border={crop_border}.')
    # flat blocks give NaN features (empty means, 0/0), which the model
    # fit leaves out as MATLAB's nanmean/nancov do; with fewer than two
    # blocks left the covariance is NaN and so is the score
    with warnings.catch_warnings(), np.errstate(
            divide='ignore', invalid='ignore'):
        warnings.simplefilter('ignore', RuntimeWarning)
        try:
            return float(_mmagic_niqe(lum, crop_border=0, input_order='HW'))
        except np.linalg.LinAlgError:  # pinv of a NaN matrix
            return float('nan')
