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
from typing import Callable, List, Optional, Sequence, Union

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
        from mmderain.utils.config import check_cfg_options
        check_cfg_options(cfg, cfg_options)
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
        load_weights(model, checkpoint, for_inference=True)
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
    this is a single ``model.derain_tensor`` call. Otherwise the tile loop
    runs inside ``model.image_context(x)`` (see
    :meth:`~mmderain.models.BaseDerainer.image_context`: a no-op unless the
    model conditions on the whole image, as CoIC's instance code does), so
    that every tile sees the context of the whole image.

    Args:
        model (nn.Module): Derainer with a ``derain_tensor`` method; every
            :class:`~mmderain.models.BaseDerainer` has one and
            ``image_context``. Other modules with only ``derain_tensor``
            (e.g. a wrapped network) are run without a context.
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
    with (model.image_context(x)
          if hasattr(model, 'image_context') else nullcontext()):
        for top in _tile_starts(height, tile_h, stride):
            for left in _tile_starts(width, tile_w, stride):
                window = (..., slice(top,
                                     top + tile_h), slice(left, left + tile_w))
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
    try:
        written = mmcv.imwrite(img, path)
    except cv2.error as err:
        raise OSError(f'Failed to write image file {path}: {err}') from err
    if not written:
        raise OSError(f'Failed to write image file: {path}')


def _check_ext(ext: Optional[str]) -> Optional[str]:
    """Normalise an output extension (``'png'`` -> ``'.png'``).

    Args:
        ext (str, optional): Extension of the written images, or None to
            keep each input's extension.

    Returns:
        str | None: The extension with a leading dot, in lower case, or
        None.

    Raises:
        ValueError: If ``ext`` is not one of :data:`IMG_EXTENSIONS`.
    """
    if ext is None:
        return None
    norm = str(ext).lower()
    norm = norm if norm.startswith('.') else '.' + norm
    if norm not in IMG_EXTENSIONS:
        raise ValueError(f'ext must be one of {", ".join(IMG_EXTENSIONS)} '
                         f'(or None to keep the input\'s), but got {ext!r}')
    return norm


def _output_name(path: str,
                 suffix: Optional[str],
                 ext: Optional[str] = '.png') -> str:
    """File name of the derained image of ``path``.

    Args:
        path (str): The input image file.
        suffix (str, optional): Text appended to the stem.
        ext (str, optional): Output extension with its dot (as returned by
            :func:`_check_ext`); None keeps the input's, and unknown input
            extensions become ``.png``. Defaults to ``'.png'``.

    Returns:
        str: ``<stem><suffix><ext>``.
    """
    stem, in_ext = osp.splitext(osp.basename(path))
    if ext is None:
        ext = in_ext if in_ext.lower() in IMG_EXTENSIONS else '.png'
    return f'{stem}{suffix or ""}{ext}'


#: Parts of the messages of PyTorch's out-of-memory errors (CUDA, MPS and the
#: CPU allocator: "DefaultCPUAllocator: can't allocate memory: you tried to
#: allocate ... bytes" on Linux, "... not enough memory" on Windows).
_OOM_MESSAGES = ('out of memory', "can't allocate memory", 'not enough memory',
                 'defaultcpuallocator')


def _is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an out-of-memory error of Python or PyTorch."""
    if isinstance(err, MemoryError):
        return True
    message = str(err).lower()
    return isinstance(err, RuntimeError) and any(m in message
                                                 for m in _OOM_MESSAGES)


def _out_of_memory_error(err: BaseException, path: str, img: np.ndarray,
                         device: torch.device, tile: Optional[int],
                         tile_overlap: int) -> MemoryError:
    """A :class:`MemoryError` naming the file, its size and a tile size.

    Args:
        err (BaseException): The out-of-memory error.
        path (str): The image file.
        img (np.ndarray): The ``(H, W, 3)`` image being derained.
        device (torch.device): The model's device.
        tile (int, optional): The tile size used, None for whole images.
        tile_overlap (int): The tile overlap used.

    Returns:
        MemoryError: The error to raise (from ``err``).
    """
    height, width = img.shape[:2]
    smaller = 512 if tile is None else max(tile // 2, 1)
    api, cli = f'tile={smaller}', f'--tile {smaller}'
    if tile_overlap >= smaller:
        overlap = smaller // 4
        api += f', tile_overlap={overlap}'
        cli += f' --tile-overlap {overlap}'
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    how = 'whole' if tile is None else f'in tiles of {tile}'
    return MemoryError(
        f'Out of memory deraining {path} ({width}x{height} pixels, {how}, '
        f'on {device}): {first_line}. Derain it in smaller tiles: {api} '
        f'(tools/derain.py {cli}).')


def _derain_file(model: nn.Module, src: str, dst: str, tile: Optional[int],
                 tile_overlap: int, compare_dir: Optional[str]) -> None:
    """Read, derain and write one image file.

    Args:
        model (nn.Module): Derainer with a ``derain_tensor`` method.
        src (str): The input image file.
        dst (str): The output image file.
        tile (int, optional): Tile size; None derains the whole image.
        tile_overlap (int): Overlap between tiles in pixels.
        compare_dir (str, optional): Folder of ``input | derained`` images;
            None writes none.

    Raises:
        OSError: If the image cannot be read or written (names the file).
        MemoryError: If deraining runs out of memory (names the file, its
            size and a tile size to use).
        FloatingPointError: If the output is not finite (names the file;
            nothing is written).
    """
    img = _read_image(src)
    try:
        result = derain_image(
            model,
            img,
            channel_order='bgr',
            tile=tile,
            tile_overlap=tile_overlap)
    except FloatingPointError as err:
        raise FloatingPointError(f'{src}: {err}') from err
    except (RuntimeError, MemoryError) as err:
        if not _is_out_of_memory(err):
            raise
        raise _out_of_memory_error(err, src, img, _model_device(model), tile,
                                   tile_overlap) from err
    _write_image(result, dst)
    if compare_dir is not None:
        _write_image(
            np.concatenate([img, result], axis=1),
            osp.join(compare_dir, osp.basename(dst)))


ErrorHandler = Callable[[str, Exception], None]


def derain_files(model: nn.Module,
                 inputs: Union[str, Sequence[str]],
                 out_dir: str,
                 tile: Optional[int] = None,
                 tile_overlap: int = 32,
                 compare: bool = False,
                 suffix: Optional[str] = None,
                 ext: Optional[str] = '.png',
                 on_error: Optional[ErrorHandler] = None) -> List[str]:
    """Derain image files and write the results into a folder.

    Images are read as 8-bit colour (grey images become 3-channel, alpha is
    dropped) and written with the input's file stem (plus ``suffix``) into
    ``out_dir``, as lossless PNG by default (``photo.jpg`` ->
    ``photo.png``): re-encoding a derained photo as JPEG would add
    compression artefacts to it.

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
        ext (str, optional): Extension, and so format, of the written
            images, e.g. ``'.png'`` or ``'.jpg'``; None keeps each input's
            extension (unknown ones become ``.png``). Defaults to
            ``'.png'``.
        on_error (callable, optional): If given, an image that cannot be
            read, derained for lack of memory, or written is skipped and
            ``on_error(path, error)`` is called, then the next image is
            derained; otherwise the first such error is raised. Defaults to
            None.

    Returns:
        list[str]: Paths of the derained images written, in input order.

    Raises:
        FileNotFoundError: If an input matches no image (names the input).
        OSError: If an image cannot be read or written (names the file;
            only without ``on_error``).
        MemoryError: If deraining an image runs out of memory (names the
            file, its size and a tile size to use; only without
            ``on_error``).
        ValueError: If two inputs map to the same output file, an output
            would overwrite its input, or ``ext`` is not an image extension.
    """
    ext = _check_ext(ext)
    files = collect_image_files(inputs)
    out_paths = [
        osp.join(out_dir, _output_name(f, suffix, ext)) for f in files
    ]
    sources = {}
    for src, dst in zip(files, out_paths):
        if osp.abspath(dst) in sources:
            raise ValueError(f'Inputs {sources[osp.abspath(dst)]} and {src} '
                             f'would both be written to {dst}; rename one '
                             'or derain them into separate folders')
        if osp.abspath(dst) == osp.abspath(src):
            raise ValueError(f'Output {dst} would overwrite its input; use '
                             'another out_dir or a suffix')
        sources[osp.abspath(dst)] = src

    mkdir_or_exist(out_dir)
    compare_dir = osp.join(out_dir, 'compare') if compare else None
    if compare_dir is not None:
        mkdir_or_exist(compare_dir)
    device = _model_device(model)
    written = []
    progress = ProgressBar(len(files))
    for src, dst in zip(files, out_paths):
        failed = False
        try:
            _derain_file(model, src, dst, tile, tile_overlap, compare_dir)
            written.append(dst)
        except (OSError, MemoryError, FloatingPointError) as err:
            if on_error is None:
                raise
            on_error(src, err)
            failed = True
        if failed and device.type == 'cuda':
            # the tensors of the failed image went with its error
            torch.cuda.empty_cache()
        progress.update()
    return written
