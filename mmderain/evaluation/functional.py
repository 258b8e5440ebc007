# Copyright (c) mmderain contributors. All rights reserved.
"""MATLAB-protocol PSNR / SSIM for single-image deraining.

The deraining literature (Rain100L/H, Rain1400, SPA, ...) reports PSNR and
SSIM computed by MATLAB scripts of the form::

    x = im2double(imread(derained)); y = im2double(imread(gt));
    x = rgb2ycbcr(x); y = rgb2ycbcr(y);
    psnr(x(:, :, 1), y(:, :, 1))                      % peak 1
    ssim_index(x(:, :, 1) * 255, y(:, :, 1) * 255)    % Zhou Wang, L=255

This module reproduces that protocol in float64 numpy:

* ``im2double``: values are divided by 255 (never re-quantised here).
* ``rgb2ycbcr`` on a double image: ``Y = (65.481 R + 128.553 G + 24.966 B)
  / 255 + 16 / 255`` with ``R, G, B`` in [0, 1]; ``Y`` lies in
  [16/255, 235/255] and is **not** rounded.
* ``psnr``: ``10 * log10(1 / mse)`` (peak 1 on the double images).
* ``ssim_index.m``: ``K = (0.01, 0.03)``, ``L = 255``, 11x11 normalised
  Gaussian window with sigma 1.5, ``filter2(..., 'valid')`` (no padding, the
  SSIM map has shape ``(H - 10, W - 10)``), result = mean of the SSIM map.
  No automatic downsampling (that is Wang's later ``ssim.m``; it downsamples
  by ``round(min(H, W) / 256)``, which is 1 for images shorter than 384 px,
  e.g. Rain100L's 481x321, so the two agree there).

All functions take HWC numpy arrays (uint8, or float in [0, 255]).
"""
from typing import Optional, Tuple

import numpy as np

__all__ = ['rgb2ycbcr_y', 'calculate_psnr', 'calculate_ssim', 'ssim_map']

# First row of MATLAB's rgb2ycbcr matrix (for R, G, B in [0, 1]) and offset.
_Y_COEFFS_RGB = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_Y_OFFSET = 16.0

_SSIM_K1, _SSIM_K2, _SSIM_L = 0.01, 0.03, 255.0
_SSIM_WIN, _SSIM_SIGMA = 11, 1.5


def _check_channel_order(channel_order: str) -> str:
    """Validate and normalise a channel order string.

    Args:
        channel_order (str): 'RGB' or 'BGR' (case-insensitive).

    Returns:
        str: 'RGB' or 'BGR'.

    Raises:
        ValueError: If ``channel_order`` is anything else.
    """
    order = channel_order.upper() if isinstance(channel_order, str) else None
    if order not in ('RGB', 'BGR'):
        raise ValueError("channel_order must be 'RGB' or 'BGR', "
                         f'got {channel_order!r}.')
    return order


def _check_convert_to(convert_to: Optional[str]) -> Optional[str]:
    """Validate ``convert_to`` ('Y' case-insensitive, or None).

    Args:
        convert_to (str | None): Colour conversion before the metric.

    Returns:
        str | None: 'Y' or None.

    Raises:
        ValueError: If ``convert_to`` is neither 'Y' nor None.
    """
    if convert_to is None:
        return None
    if isinstance(convert_to, str) and convert_to.upper() == 'Y':
        return 'Y'
    raise ValueError(f"convert_to must be 'Y' or None, got {convert_to!r}.")


def _as_hwc_float64(img: np.ndarray, name: str) -> np.ndarray:
    """Convert an image to a float64 HxWxC array (values kept in [0, 255]).

    Args:
        img (np.ndarray): HxW or HxWxC image, uint8 or float in [0, 255].
        name (str): Argument name used in error messages.

    Returns:
        np.ndarray: float64 array of shape (H, W, C).

    Raises:
        ValueError: If the array is not 2-D or 3-D.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f'{name} must be an HxW or HxWxC array, '
                         f'got shape {img.shape}.')
    return img.astype(np.float64)


def _crop(img: np.ndarray, crop_border: int) -> np.ndarray:
    """Remove ``crop_border`` pixels from each side of an HWC image.

    Args:
        img (np.ndarray): HxWxC image.
        crop_border (int): Pixels removed on every side (>= 0).

    Returns:
        np.ndarray: The cropped view.

    Raises:
        ValueError: If ``crop_border`` is negative or too large.
    """
    if not isinstance(crop_border, (int, np.integer)) or crop_border < 0:
        raise ValueError(
            f'crop_border must be a non-negative int, got {crop_border!r}.')
    if crop_border == 0:
        return img
    h, w = img.shape[:2]
    if 2 * crop_border >= min(h, w):
        raise ValueError(f'crop_border={crop_border} leaves nothing of an '
                         f'image of shape {img.shape}.')
    return img[crop_border:h - crop_border, crop_border:w - crop_border, :]


def rgb2ycbcr_y(img: np.ndarray, channel_order: str = 'RGB') -> np.ndarray:
    """Y channel of MATLAB ``rgb2ycbcr(im2double(img))``.

    ``Y = (65.481 R + 128.553 G + 24.966 B) / 255 + 16 / 255`` with
    ``R, G, B = img / 255``. The result is float64 in [16/255, 235/255] and is
    not rounded (MATLAB only rounds for integer inputs, and the protocol
    converts to double first).

    A grayscale image (HxW or HxWx1) is taken to be Y/intensity already and is
    returned as ``img / 255`` (no 16..235 range mapping).

    Args:
        img (np.ndarray): HxWx3 image (uint8, or float in [0, 255]), or a
            grayscale HxW / HxWx1 image.
        channel_order (str): Order of the three channels, 'RGB' or 'BGR'.
            Must be given correctly; there is no guessing. Default: 'RGB'.

    Returns:
        np.ndarray: float64 array of shape (H, W).

    Raises:
        ValueError: On a bad ``channel_order`` or an unsupported shape.
    """
    order = _check_channel_order(channel_order)
    img = _as_hwc_float64(img, 'img')
    if img.shape[2] == 1:
        return img[..., 0] / 255.0
    if img.shape[2] != 3:
        raise ValueError('img must have 1 or 3 channels, '
                         f'got shape {img.shape}.')
    rgb = img / 255.0  # im2double
    if order == 'BGR':
        rgb = rgb[..., ::-1]
    # Same operation order as MATLAB: coefficients scaled by 1/255 first.
    coeffs = _Y_COEFFS_RGB / 255.0
    return (coeffs[0] * rgb[..., 0] + coeffs[1] * rgb[..., 1] +
            coeffs[2] * rgb[..., 2] + _Y_OFFSET / 255.0)


def _prepare_pair(img1: np.ndarray, img2: np.ndarray, crop_border: int,
                  convert_to: Optional[str],
                  channel_order: str) -> Tuple[np.ndarray, np.ndarray]:
    """Check, crop and colour-convert a pair of images.

    Args:
        img1 (np.ndarray): First HWC image in [0, 255].
        img2 (np.ndarray): Second HWC image in [0, 255].
        crop_border (int): Pixels removed on every side before conversion.
        convert_to (str | None): 'Y' or None.
        channel_order (str): 'RGB' or 'BGR'.

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 HxWxC images in [0, 1]
        (C = 1 for 'Y').

    Raises:
        ValueError: On mismatched shapes or invalid arguments.
    """
    _check_channel_order(channel_order)
    convert_to = _check_convert_to(convert_to)
    shape1, shape2 = np.shape(img1), np.shape(img2)
    if shape1 != shape2:
        raise ValueError(
            f'Image shapes differ: img1 {shape1} vs img2 {shape2}.')
    out = []
    for name, img in (('img1', img1), ('img2', img2)):
        img = _crop(_as_hwc_float64(img, name), crop_border)
        if convert_to == 'Y':
            img = rgb2ycbcr_y(img, channel_order)[..., None]
        else:
            img = img / 255.0
        out.append(img)
    return out[0], out[1]


def calculate_psnr(img1: np.ndarray,
                   img2: np.ndarray,
                   crop_border: int = 0,
                   convert_to: Optional[str] = 'Y',
                   channel_order: str = 'RGB') -> float:
    """PSNR as MATLAB ``psnr(x, x_true)`` on ``im2double`` images (peak 1).

    Args:
        img1 (np.ndarray): HWC image, uint8 or float in [0, 255].
        img2 (np.ndarray): HWC image of the same shape (the order of the two
            images does not matter).
        crop_border (int): Pixels removed on every side before the colour
            conversion. Default: 0.
        convert_to (str | None): 'Y' for the MATLAB ``rgb2ycbcr`` Y channel,
            None for all channels of ``img / 255``. Default: 'Y'.
        channel_order (str): 'RGB' or 'BGR', the order of ``img1`` and
            ``img2``. Default: 'RGB'.

    Returns:
        float: ``10 * log10(1 / mse)`` in dB; ``inf`` for identical images.

    Raises:
        ValueError: On mismatched shapes or invalid arguments.
    """
    x, y = _prepare_pair(img1, img2, crop_border, convert_to, channel_order)
    mse = np.mean((x - y)**2)
    if mse == 0:
        return float('inf')
    return float(10.0 * np.log10(1.0 / mse))


def _gaussian_1d(size: int = _SSIM_WIN,
                 sigma: float = _SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D Gaussian, ``fspecial('gaussian')`` factor.

    ``fspecial('gaussian', 11, 1.5)`` is the outer product of this vector with
    itself (both normalise to unit sum).

    Args:
        size (int): Window length (odd).
        sigma (float): Standard deviation.

    Returns:
        np.ndarray: float64 vector of length ``size`` summing to 1.
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``filter2(g * g', img, 'valid')`` via two separable 1-D passes.

    Args:
        img (np.ndarray): float64 HxW image.
        g (np.ndarray): Symmetric 1-D window of length k.

    Returns:
        np.ndarray: Array of shape (H - k + 1, W - k + 1).
    """
    k = g.size
    h, w = img.shape
    rows = sum(g[i] * img[i:h - k + 1 + i, :] for i in range(k))
    return sum(g[j] * rows[:, j:w - k + 1 + j] for j in range(k))


def ssim_map(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """SSIM map of Zhou Wang's ``ssim_index.m`` for one channel.

    Args:
        img1 (np.ndarray): HxW float image in [0, 255].
        img2 (np.ndarray): HxW float image in [0, 255].

    Returns:
        np.ndarray: float64 map of shape (H - 10, W - 10).

    Raises:
        ValueError: If the image is smaller than the 11x11 window.
    """
    if min(img1.shape) < _SSIM_WIN:
        raise ValueError(f'SSIM needs images of at least {_SSIM_WIN}x'
                         f'{_SSIM_WIN} pixels, got {img1.shape}.')
    c1 = (_SSIM_K1 * _SSIM_L)**2
    c2 = (_SSIM_K2 * _SSIM_L)**2
    g = _gaussian_1d()
    img1 = img1.astype(np.float64)
    img2 = img2.astype(np.float64)
    mu1 = _filter_valid(img1, g)
    mu2 = _filter_valid(img2, g)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = _filter_valid(img1 * img1, g) - mu1_sq
    sigma2_sq = _filter_valid(img2 * img2, g) - mu2_sq
    sigma12 = _filter_valid(img1 * img2, g) - mu1_mu2
    return ((2 * mu1_mu2 + c1) *
            (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) *
                                   (sigma1_sq + sigma2_sq + c2))


def calculate_ssim(img1: np.ndarray,
                   img2: np.ndarray,
                   crop_border: int = 0,
                   convert_to: Optional[str] = 'Y',
                   channel_order: str = 'RGB') -> float:
    """SSIM as Zhou Wang's ``ssim_index.m`` on ``Y * 255`` (L = 255).

    Args:
        img1 (np.ndarray): HWC image, uint8 or float in [0, 255].
        img2 (np.ndarray): HWC image of the same shape.
        crop_border (int): Pixels removed on every side before the colour
            conversion. Default: 0.
        convert_to (str | None): 'Y' to compute on the MATLAB Y channel
            (times 255, so in [16, 235]); None to compute on every channel of
            the [0, 255] image and average. Default: 'Y'.
        channel_order (str): 'RGB' or 'BGR', the order of ``img1`` and
            ``img2``. Default: 'RGB'.

    Returns:
        float: Mean of the SSIM map (averaged over channels if several);
        1.0 for identical images.

    Raises:
        ValueError: On mismatched shapes, images smaller than 11x11 after
            cropping, or invalid arguments.
    """
    x, y = _prepare_pair(img1, img2, crop_border, convert_to, channel_order)
    if min(x.shape[:2]) < _SSIM_WIN:
        cropped = (f' ({x.shape[0]}x{x.shape[1]} after removing '
                   f'crop_border={crop_border} pixels per side)'
                   if crop_border else '')
        raise ValueError(
            f'SSIM needs images of at least {_SSIM_WIN}x{_SSIM_WIN} pixels '
            f'(its Gaussian window), got {np.shape(img1)[0]}x'
            f'{np.shape(img1)[1]}{cropped}.')
    values = [
        ssim_map(x[..., c] * 255.0, y[..., c] * 255.0).mean()
        for c in range(x.shape[2])
    ]
    return float(np.mean(values))
