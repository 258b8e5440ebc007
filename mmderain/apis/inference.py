# Copyright (c) mmderain contributors. All rights reserved.
"""High-level inference API: build a derainer, derain arrays and files.

Every derainer exposes ``derain_tensor(x)``, mapping an ``(N, 3, H, W)`` RGB
float tensor in ``[0, 1]`` to the derained tensor of the same shape and range
(padding to the architecture's multiple is done inside the model). The
functions here add image conversion, tiled inference and file handling.
"""
import copy
import os
import os.path as osp
import warnings
from contextlib import nullcontext
from numbers import Integral
from typing import List, Optional, Sequence, Union

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.utils import ProgressBar, mkdir_or_exist
from torch import nn

from mmderain.utils.safe_loading import is_url
from .inputs import IMG_EXTENSIONS, collect_image_files

ConfigType = Union[str, os.PathLike, Config]


def _remove_init_cfg(cfg: Union[dict, list]) -> None:
    """Recursively drop ``init_cfg`` keys (pretrained-weight downloads)."""
    if isinstance(cfg, dict):
        cfg.pop('init_cfg', None)
        for value in cfg.values():
            _remove_init_cfg(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _remove_init_cfg(value)


def init_derainer(config: ConfigType,
                  checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu',
                  cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a derainer from a config and load its weights for inference.

    Args:
        config (str | os.PathLike | :obj:`mmengine.Config`): Config file path
            or a loaded config; its ``model`` dict is built from
            ``mmderain.registry.MODELS``. A given ``Config`` is copied, not
            modified.
        checkpoint (str, optional): MMEngine checkpoint (local path or
            ``http(s)://`` URL) whose ``state_dict`` is loaded weights-only
            and strictly (every key and shape must match, every tensor be
            finite). If None, the model keeps its random initialisation (a
            warning is issued). Defaults to None.
        device (str | torch.device): Device to put the model on, e.g.
            ``'cpu'`` or ``'cuda:0'``. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config, in
            ``Config.merge_from_dict`` format (``{'model.key': value}``).
            Defaults to None.

    Returns:
        nn.Module: The derainer in eval mode on ``device``, with the used
        config attached as ``model.cfg``.

    Raises:
        FileNotFoundError: If the config or checkpoint file does not exist.
        TypeError: If ``config`` is neither a path nor a ``Config``.
        mmderain.utils.safe_loading.CheckpointError: If the checkpoint
            cannot be read weights-only or does not fit the model.
    """
    from mmderain.registry import MODELS
    from mmderain.utils import register_all_modules
    from mmderain.utils.safe_loading import load_weights

    if isinstance(config, (str, os.PathLike)):
        config = os.fspath(config)
        if not osp.isfile(config):
            raise FileNotFoundError(f'Config file not found: {config}')
        cfg = Config.fromfile(config)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file path or an mmengine.Config, '
                        f'but got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError('The config has no `model` field.')

    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        if not is_url(checkpoint) and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'Checkpoint file not found: {checkpoint}')
        # The checkpoint overrides all weights: skip pretrained downloads.
        _remove_init_cfg(cfg.model)

    register_all_modules(init_default_scope=True)
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        warnings.warn('No checkpoint given: the derainer keeps its random '
                      'initialisation.')
    else:
        # weights only, strict and finite: a checkpoint of another
        # architecture, unconverted official weights or a diverged run must
        # not produce plausible-looking images
        load_weights(model, checkpoint)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def _model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter or buffer; CPU if it has none."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device('cpu')


def _tile_starts(size: int, tile: int, stride: int) -> List[int]:
    """Start offsets of tiles covering ``size``, the last one flush with the
    border."""
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_tile(tile: int, tile_overlap: int) -> None:
    if not _is_int(tile) or tile <= 0:
        raise ValueError(f'tile must be a positive int, but got {tile!r}')
    if not _is_int(tile_overlap) or not 0 <= tile_overlap < tile:
        raise ValueError('tile_overlap must be an int in [0, tile), but got '
                         f'{tile_overlap!r} with tile={tile}')


def derain_tensor_tiled(model: nn.Module,
                        x: torch.Tensor,
                        tile: int,
                        tile_overlap: int = 32) -> torch.Tensor:
    """Derain a tensor tile by tile, averaging overlapping outputs.

    Tiles of ``tile x tile`` pixels (clipped to the image size) are taken
    with stride ``tile - tile_overlap``; the last tile of each row and column
    is shifted to end at the border, so every tile lies inside the image.
    Outputs are summed into a canvas together with a count map and divided
    by it, as in Restormer's tiled testing. If the image fits in one tile,
    this is a single ``model.derain_tensor`` call. Models that condition on
    the whole image (CoIC's instance code) provide an ``image_context(x)``
    context manager, entered around the tile loop so that every tile sees
    the context of the whole image.

    Args:
        model (nn.Module): Derainer with a ``derain_tensor`` method.
        x (torch.Tensor): ``(N, 3, H, W)`` RGB float tensor in ``[0, 1]``.
        tile (int): Tile size in pixels. A multiple of the model's
            ``pad_multiple`` avoids padding inside each tile.
        tile_overlap (int): Overlap of neighbouring tiles in pixels, in
            ``[0, tile)``. Defaults to 32.

    Returns:
        torch.Tensor: ``(N, 3, H, W)`` derained RGB float tensor in
        ``[0, 1]``.
    """
    _check_tile(tile, tile_overlap)
    tile, tile_overlap = int(tile), int(tile_overlap)
    height, width = x.shape[-2:]
    if height <= tile and width <= tile:
        return model.derain_tensor(x)
    tile_h, tile_w = min(tile, height), min(tile, width)
    stride = tile - tile_overlap
    # float64 sums (where supported) make averaging equal tiles exact
    acc_dtype = torch.float64 if x.device.type != 'mps' else x.dtype
    canvas = torch.zeros_like(x, dtype=acc_dtype)
    counts = torch.zeros((1, 1, height, width),
                         dtype=acc_dtype,
                         device=x.device)
    context = getattr(model, 'image_context', None)
    with context(x) if context is not None else nullcontext():
        for top in _tile_starts(height, tile_h, stride):
            for left in _tile_starts(width, tile_w, stride):
                window = (..., slice(top, top + tile_h),
                          slice(left, left + tile_w))
                out = model.derain_tensor(x[window])
                if out.shape != x[window].shape:
                    raise RuntimeError(
                        'derain_tensor changed the tile shape from '
                        f'{tuple(x[window].shape)} to {tuple(out.shape)}')
                canvas[window] += out
                counts[window] += 1
    return (canvas / counts).to(x.dtype)


def _check_channel_order(channel_order: str) -> str:
    order = str(channel_order).lower()
    if order not in ('rgb', 'bgr'):
        raise ValueError("channel_order must be 'rgb' or 'bgr', but got "
                         f'{channel_order!r}')
    return order


def derain_image(model: nn.Module,
                 img: np.ndarray,
                 channel_order: str = 'rgb',
                 tile: Optional[int] = None,
                 tile_overlap: int = 32) -> np.ndarray:
    """Derain one image array.

    The image is converted to an RGB float tensor in ``[0, 1]`` on the
    model's device, derained under ``torch.no_grad()`` (whole, or tile by
    tile, see :func:`derain_tensor_tiled`) and converted back with
    ``floor(x * 255 + 0.5)``: round half up, as writing a correctly rounded
    8-bit image does (and the derainers' ``test_cfg.quantize='round'``). The
    model should be in eval mode, as returned by :func:`init_derainer`.

    Args:
        model (nn.Module): Derainer with a ``derain_tensor`` method.
        img (np.ndarray): ``(H, W, 3)`` uint8 image in ``[0, 255]``.
        channel_order (str): Channel order of ``img``, ``'rgb'`` or
            ``'bgr'`` (e.g. from ``cv2.imread``). Defaults to ``'rgb'``.
        tile (int, optional): Tile size for tiled inference, which bounds
            memory on large images. None runs on the whole image. Defaults
            to None.
        tile_overlap (int): Overlap between tiles in pixels. Defaults to 32.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 derained image in ``[0, 255]``, in
        the same channel order as ``img``.
    """
    order = _check_channel_order(channel_order)
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 \
            or img.ndim != 3 or img.shape[2] != 3:
        desc = (f'{img.dtype} array of shape {img.shape}' if isinstance(
            img, np.ndarray) else type(img).__name__)
        raise ValueError(f'img must be an (H, W, 3) uint8 array, got {desc}')
    if tile is not None:
        _check_tile(tile, tile_overlap)
    if getattr(model, 'training', False):
        warnings.warn('The derainer is in training mode; call model.eval() '
                      'for inference.')
    rgb = img[..., ::-1] if order == 'bgr' else img
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)
    x = x.unsqueeze(0).to(_model_device(model)).float().div_(255.)
    with torch.no_grad():
        if tile is None:
            out = model.derain_tensor(x)
        else:
            out = derain_tensor_tiled(model, x, tile, tile_overlap)
    if not bool(torch.isfinite(out).all()):
        raise FloatingPointError(
            'the derainer produced NaN or infinite values: its weights or '
            'input are broken (no image written)')
    out = (out[0].clamp(0, 1) * 255. + 0.5).floor().to(torch.uint8)
    out = out.permute(1, 2, 0).cpu().numpy()
    if order == 'bgr':
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


def _read_image(path: str) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` uint8 BGR array."""
    try:
        img = mmcv.imread(path, flag='color', channel_order='bgr')
    except (OSError, ValueError, cv2.error) as err:
        raise OSError(f'Cannot read image file {path}: {err}') from err
    if img is None:
        raise OSError(f'Cannot read image file (not a valid image): {path}')
    return img


def _write_image(img: np.ndarray, path: str) -> None:
    """Write an ``(H, W, 3)`` uint8 BGR array; raise if encoding fails."""
    if not mmcv.imwrite(img, path):
        raise OSError(f'Failed to write image file: {path}')


def _output_name(path: str, suffix: Optional[str]) -> str:
    stem, ext = osp.splitext(osp.basename(path))
    if ext.lower() not in IMG_EXTENSIONS:
        ext = '.png'
    return f'{stem}{suffix or ""}{ext}'


def derain_files(model: nn.Module,
                 inputs: Union[str, Sequence[str]],
                 out_dir: str,
                 tile: Optional[int] = None,
                 tile_overlap: int = 32,
                 compare: bool = False,
                 suffix: Optional[str] = None) -> List[str]:
    """Derain image files and write the results into a folder.

    Images are read as 8-bit colour (grey images become 3-channel, alpha is
    dropped) and written with the input's file name (plus ``suffix``) into
    ``out_dir``; unknown extensions are written as PNG.

    Args:
        model (nn.Module): Derainer with a ``derain_tensor`` method, in eval
            mode.
        inputs (str | Sequence[str]): Image file, directory (non-recursive,
            naturally sorted), glob pattern, or a list of those.
        out_dir (str): Output directory, created if missing.
        tile (int, optional): Tile size for tiled inference; None derains
            whole images. Defaults to None.
        tile_overlap (int): Overlap between tiles in pixels. Defaults to 32.
        compare (bool): Also write ``input | derained`` side-by-side images
            into ``out_dir/compare/``. Defaults to False.
        suffix (str, optional): Text appended to each output file stem, e.g.
            ``'_derained'``. Defaults to None.

    Returns:
        list[str]: Paths of the derained images, in input order.

    Raises:
        FileNotFoundError: If an input matches no image (names the input).
        OSError: If an image cannot be read (names the file).
        ValueError: If two inputs map to the same output file, or an output
            would overwrite its input.
    """
    files = collect_image_files(inputs)
    out_paths = [osp.join(out_dir, _output_name(f, suffix)) for f in files]
    sources = {}
    for src, dst in zip(files, out_paths):
        if osp.abspath(dst) in sources:
            raise ValueError(f'Inputs {sources[osp.abspath(dst)]} and {src} '
                             f'would both be written to {dst}')
        if osp.abspath(dst) == osp.abspath(src):
            raise ValueError(f'Output {dst} would overwrite its input; use '
                             'another out_dir or a suffix')
        sources[osp.abspath(dst)] = src

    mkdir_or_exist(out_dir)
    compare_dir = osp.join(out_dir, 'compare')
    if compare:
        mkdir_or_exist(compare_dir)
    progress = ProgressBar(len(files))
    for src, dst in zip(files, out_paths):
        img = _read_image(src)
        result = derain_image(
            model,
            img,
            channel_order='bgr',
            tile=tile,
            tile_overlap=tile_overlap)
        _write_image(result, dst)
        if compare:
            _write_image(
                np.concatenate([img, result], axis=1),
                osp.join(compare_dir, osp.basename(dst)))
        progress.update()
    return out_paths
