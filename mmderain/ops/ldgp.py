# Copyright (c) mmderain contributors. All rights reserved.
"""LDGP: the locally dominant gradient prior of Rain2Avoid (rain masks).

Rain2Avoid (Peng et al.) marks rain streaks of one rainy image without any
clean data, with the OpenCV procedure of its ``ldgp.py``, reproduced here
bit for bit (same masks, pixel for pixel, as the official script):

1. Grey non-overlapping ``P x P`` patches (``P`` = ``patch_size``, 80
   officially; remainder strips are ignored) each get a 36-bin HOG
   histogram: ``cv2.HOGDescriptor`` with 8x8 cells, 4x4-cell blocks and an
   8-pixel block stride (unsigned gradients, 5 degrees a bin, L2-Hys); every
   cell's histogram is averaged over the blocks holding it (with the
   official reshape and transpose of the descriptor) and the cells are
   summed (:func:`patch_histograms`). The patch angle is 5 times the
   first maximal bin (:func:`patch_angles`).
2. The image angle is the most frequent patch angle, ties resolved as the
   official ``max(set(L), key=L.count)`` does (CPython's set order)
   (:func:`dominant_angle`).
3. The gradient angle becomes a rotation: 85 and 90 give 0, angles above
   90 lose 180 (:func:`rotation_angle`).
4. The image is rotated by that angle onto an enlarged white canvas
   (:func:`rotate_bound`), so the streaks stand vertical; a pixel brighter
   than its 5x5 mean is kept (``adaptiveThreshold``); a vertical opening
   with a ``1 x kernel_size`` rectangle keeps the bright vertical runs; the
   map is rotated back and cropped to the image (:func:`ldgp`).

The official script draws a ``matplotlib`` bar chart of every patch's
histogram, which costs most of its time; nothing is drawn here, one
``HOGDescriptor`` serves every patch and the averaging and summing of the
histograms run on all patches at once (in the official order of floating-
point additions, so the argmax is the same). Only OpenCV and NumPy are used.
"""
import math
from typing import List, Tuple

import cv2
import numpy as np

#: HOG geometry of the official ``hog()``: cell side, cells per block side
#: (the block stride is one cell) and orientation bins (5 degrees each).
HOG_CELL = 8
HOG_BLOCK_CELLS = 4
HOG_BINS = 36
#: Degrees per HOG bin, as the official code writes it (``5 * index``).
DEGREES_PER_BIN = 5
#: Smallest patch side: one HOG block.
MIN_PATCH_SIZE = HOG_CELL * HOG_BLOCK_CELLS


def _check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'{name} must be an int >= {minimum}, got '
                         f'{value!r}')
    if value < minimum:
        raise ValueError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def check_ldgp_image(image: np.ndarray, patch_size: int) -> None:
    """Raise a ValueError unless ``image`` is a BGR uint8 image holding at
    least one ``patch_size`` patch.

    Args:
        image (np.ndarray): The image to check.
        patch_size (int): The patch side, already checked.

    Raises:
        ValueError: Naming what was expected and what was given.
    """
    if not isinstance(image, np.ndarray):
        raise ValueError('LDGP expects a numpy array (H, W, 3) of dtype '
                         f'uint8 (BGR), got {type(image).__name__}')
    if image.dtype != np.uint8:
        raise ValueError('LDGP expects an image of dtype uint8 (BGR, as '
                         f'cv2.imread gives), got {image.dtype}')
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError('LDGP expects a BGR image of shape (H, W, 3), got '
                         f'shape {image.shape}')
    height, width = image.shape[:2]
    if height < patch_size or width < patch_size:
        raise ValueError(
            f'LDGP needs an image of at least one {patch_size}x{patch_size} '
            f'patch (patch_size), got {height}x{width} (HxW)')


def patch_histograms(gray: np.ndarray, patch_size: int = 80) -> np.ndarray:
    """The official 36-bin gradient histogram of every patch.

    Args:
        gray (np.ndarray): Grey uint8 image (H, W) with ``H, W >=
            patch_size``.
        patch_size (int): Patch side (>= 32). Defaults to 80.

    Returns:
        np.ndarray: float64 (W // P, H // P, 36): the histogram of the patch
        at column ``x``, row ``y`` in ``[x, y]`` (the official visiting
        order is ``x`` outer, ``y`` inner). Each bin is the sum over the
        patch's cells (row by row, as the official loop adds) of the
        cell's HOG histogram averaged over the blocks holding it.

    Raises:
        ImportError: If OpenCV has no ``HOGDescriptor`` (OpenCV 5).
    """
    if not hasattr(cv2, 'HOGDescriptor'):
        raise ImportError(
            f'LDGP needs cv2.HOGDescriptor, which OpenCV {cv2.__version__} '
            'does not have (OpenCV 5 moved it out of the main module); '
            'install opencv-python 4.x')
    cells_x = cells_y = patch_size // HOG_CELL
    win = (cells_x * HOG_CELL, cells_y * HOG_CELL)
    cell = (HOG_CELL, HOG_CELL)
    block = (HOG_CELL * HOG_BLOCK_CELLS, HOG_CELL * HOG_BLOCK_CELLS)
    hog = cv2.HOGDescriptor(win, block, cell, cell, HOG_BINS)
    n_x = gray.shape[1] // patch_size
    n_y = gray.shape[0] // patch_size
    # the gradients at a patch border see only the patch (border
    # replication inside HOG), so every patch is described on its own
    desc = np.stack([
        hog.compute(
            np.ascontiguousarray(gray[patch_size * y:patch_size * (y + 1),
                                      patch_size * x:patch_size * (x + 1)]))
        for x in range(n_x) for y in range(n_y)
    ])
    blocks_x = cells_x - HOG_BLOCK_CELLS + 1
    blocks_y = cells_y - HOG_BLOCK_CELLS + 1
    k = HOG_BLOCK_CELLS
    # the official reading of the descriptor: (bx, by, i, j, bin), then
    # (by, bx, ...); cell (i, j) of block (by, bx) is cell (by+i, bx+j)
    desc = desc.reshape(-1, blocks_x, blocks_y, k, k, HOG_BINS)
    desc = desc.transpose(0, 2, 1, 3, 4, 5)
    ave = np.zeros((len(desc), cells_y, cells_x, HOG_BINS))
    count = np.zeros((cells_y, cells_x, 1))
    for i in range(k):
        for j in range(k):
            ave[:, i:blocks_y + i, j:blocks_x + j] += desc[:, :, :, i, j]
            count[i:blocks_y + i, j:blocks_x + j] += 1
    ave /= count
    # summed cell by cell in the official order (not numpy's pairwise sum)
    total = np.zeros((len(desc), HOG_BINS))
    for row in range(cells_y):
        for col in range(cells_x):
            total += ave[:, row, col]
    return total.reshape(n_x, n_y, HOG_BINS)


def patch_angles(image: np.ndarray, patch_size: int = 80) -> List[int]:
    """The dominant gradient angle of every patch (official order).

    Args:
        image (np.ndarray): BGR uint8 image (H, W, 3), at least one patch.
        patch_size (int): Patch side (>= 32). Defaults to 80.

    Returns:
        list[int]: ``5 * argmax`` of each patch's histogram (0 to 175
        degrees; the first maximal bin wins), patches column by column
        (``x`` outer, ``y`` inner, as the official loop).

    Raises:
        ValueError: If the image or ``patch_size`` is invalid.
    """
    patch_size = _check_int('patch_size', patch_size, MIN_PATCH_SIZE)
    check_ldgp_image(image, patch_size)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    hist = patch_histograms(gray, patch_size)
    return [
        DEGREES_PER_BIN * int(i) for i in np.argmax(hist, axis=-1).reshape(-1)
    ]


def most_frequent(values: List[int]) -> int:
    """The most frequent value, ties resolved as the official code.

    The official ``max(set(L), key=L.count)`` returns, among the values of
    highest count, the first in the iteration order of ``set(L)``. For
    small ints that is CPython's hash-table order, which is not always
    ascending (e.g. ``set([5, 10])`` iterates 10 first with 8 slots), so
    the same expression is evaluated here on the same list.

    Args:
        values (list[int]): Patch angles in the official order.

    Returns:
        int: The mode.
    """
    values = [int(v) for v in values]
    return max(set(values), key=values.count)


def dominant_angle(image: np.ndarray, patch_size: int = 80) -> int:
    """The image's dominant gradient angle: the mode of the patch angles.

    Args:
        image (np.ndarray): BGR uint8 image (H, W, 3), at least one patch.
        patch_size (int): Patch side (>= 32). Defaults to 80.

    Returns:
        int: Degrees in ``0, 5, ..., 175`` (gradient orientation, which is
        perpendicular to the streaks).

    Raises:
        ValueError: If the image or ``patch_size`` is invalid.
    """
    return most_frequent(patch_angles(image, patch_size))


def rotation_angle(angle: int) -> int:
    """The rotation (degrees, counter-clockwise) that makes the streaks of a
    dominant gradient ``angle`` vertical, as the official remap.

    Args:
        angle (int): A dominant angle in ``[0, 180)``.

    Returns:
        int: 0 for 85 and 90 (vertical gradients: left as they are),
        ``angle - 180`` above 90, else ``angle``.
    """
    if angle in (85, 90):
        return 0
    return angle - 180 if angle > 90 else angle


def rotate_bound(image: np.ndarray, angle: float) -> np.ndarray:
    """Rotate about the centre onto a canvas holding the whole image.

    ``cv2.getRotationMatrix2D`` (positive = counter-clockwise), a canvas of
    ``int(H|sin| + W|cos|)`` x ``int(H|cos| + W|sin|)`` (W x H) with the
    image re-centred, bilinear ``warpAffine`` and a white (255) border, as
    the official ``rotate``.

    Args:
        image (np.ndarray): uint8 image (H, W) or (H, W, C).
        angle (float): Degrees.

    Returns:
        np.ndarray: The rotated image on its canvas.
    """
    rows, cols = image.shape[:2]
    center = (cols / 2, rows / 2)
    mat = cv2.getRotationMatrix2D(center, angle, 1)
    cos, sin = abs(mat[0, 0]), abs(mat[0, 1])
    bound_w = int(rows * sin + cols * cos)
    bound_h = int(rows * cos + cols * sin)
    mat[0, 2] += bound_w / 2 - center[0]
    mat[1, 2] += bound_h / 2 - center[1]
    return cv2.warpAffine(
        image, mat, (bound_w, bound_h), borderValue=(255, 255, 255))


def _crop_offsets(height: int, width: int, angle: int) -> Tuple[int, int]:
    """Row and column of the image in its doubly rotated canvas."""
    rad = math.radians(abs(angle))
    return (math.floor(width * math.sin(rad) * math.cos(rad)),
            math.floor(height * math.cos(rad) * math.sin(rad)))


def ldgp(image_bgr: np.ndarray,
         patch_size: int = 80,
         kernel_size: int = 10) -> np.ndarray:
    """The LDGP rain mask of an image, as the official ``ldgp.py``.

    Args:
        image_bgr (np.ndarray): BGR uint8 image (H, W, 3) as
            ``cv2.imread`` gives, at least ``patch_size`` on each side.
        patch_size (int): Side of the patches voting for the angle (>= 32).
            Defaults to 80 (official).
        kernel_size (int): Height of the vertical opening (>= 1): the
            shortest bright run kept. Defaults to 10 (official).

    Returns:
        np.ndarray: uint8 (H, W), 255 = rain. When the image was rotated,
        pixels along streak borders take values 1-254 (bilinear rotation
        back), as in the official masks.

    Raises:
        ValueError: If the image is not (H, W, 3) uint8, is smaller than
            one patch, or ``patch_size``/``kernel_size`` are invalid.
    """
    patch_size = _check_int('patch_size', patch_size, MIN_PATCH_SIZE)
    kernel_size = _check_int('kernel_size', kernel_size, 1)
    angle = rotation_angle(dominant_angle(image_bgr, patch_size))
    height, width = image_bgr.shape[:2]
    rotated = cv2.cvtColor(rotate_bound(image_bgr, angle), cv2.COLOR_BGR2GRAY)
    bright = cv2.adaptiveThreshold(rotated, 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                   cv2.THRESH_BINARY, 5, 0)
    line = cv2.getStructuringElement(cv2.MORPH_RECT, (1, kernel_size))
    runs = cv2.dilate(cv2.erode(bright, line), line)
    top, left = _crop_offsets(height, width, angle)
    back = rotate_bound(runs, -angle)
    return np.ascontiguousarray(back[top:top + height, left:left + width])
