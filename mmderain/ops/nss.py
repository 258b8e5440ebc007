# Copyright (c) mmderain contributors. All rights reserved.
"""Non-local stochastic sampling (NSS) of Rain2Avoid (Peng et al.).

NSS turns one rainy image and its LDGP rain mask into ``num`` stochastic
derained references (SDRs): every pixel to replace (mask value above
``threshold``) takes, in each reference, the value of a rain-free pixel of
its ``window x window`` neighbourhood, drawn with a probability inversely
related to the distance between their patches. This module computes what
the official ``Rain2Avoid(Single)/sdr.py`` computes, bit for bit, with

* a compiled CPU kernel (``mmderain/ops/csrc/nss/nss_cpu.cpp``, the module
  ``mmderain.ops._nss_ext`` built by ``pip install -e .``), split over
  PyTorch's threads: ~2000x faster than the official Python loops (18 ms
  vs 42 s for a 320 x 480 Rain100L image on 2 cores,
  ``benchmarks/bench_nss.py``);
* a CUDA kernel (``nss_cuda.cu``, one thread per pixel to replace) for CUDA
  tensors. It is built into ``mmderain.ops._nss_cuda`` by ``pip install
  -e .`` when ``FORCE_CUDA=1`` or when CUDA is available at build time;
  otherwise the first CUDA call compiles it with
  ``torch.utils.cpp_extension.load`` (cached under
  ``TORCH_EXTENSIONS_DIR``, by default ``~/.cache/torch_extensions``; this
  needs ``nvcc`` and takes a minute or two once; set ``CUDA_HOME`` to the
  toolkit's root if PyTorch guesses it wrong);
* :func:`nss_reference`, a plain NumPy version (per pixel, with NumPy's own
  ``RandomState.choice`` as the official code), for the tests and as the
  fallback when nothing was compiled (``MMDERAIN_NO_EXT=1``).

Both kernels share the per-pixel code (``csrc/nss/nss.h``). What makes them
exact (see that header): the patch distance is an integer; the weight
``float32(1 / max(d ** eta, 1e-4))`` comes from a table filled with the C
library's ``pow`` (NumPy's scalar power; NumPy's *array* power and ``sqrt``
differ from it in the last bit for some ``d``); the float32 normalisation
sums as NumPy's pairwise sum does; the official code reseeds NumPy before
every pixel, so every pixel uses the same ``num`` uniforms
``RandomState(seed).random_sample(num)`` and ``choice`` reduces to
``searchsorted(cumsum(p) / cumsum(p)[-1], u, side='right')`` (with
``choice``'s checks of ``p``).

The official details kept: ``M = [L > 0]`` is rain but only ``L >
threshold`` is replaced (values ``1..threshold`` are neither replaced nor
candidates); the similarity window starts at ``sim_window`` and grows by 2
while the window around the pixel is all rain; the centre patch is zero and
counts (mask 1) outside the image; a pixel without a rain-free neighbour
keeps its value in every reference (the official code, which grows the
window before looking for candidates, never ends on an image that is all
rain; here such pixels are kept). Channels are interchangeable (BGR or RGB
gives the same result).

The online variant (``generateSDR_multiple.generate_sdr``, used by the
online SDRL) is the same algorithm with ``eta = 1`` (:data:`ONLINE_ETA`),
window 7, threshold 10, on ``to_tensor(img) * 255`` float32 RGB arrays.
Those values are exact integers for all 256 levels (checked), so
``nss(img_uint8, ldgp_uint8, eta=ONLINE_ETA)`` gives its references (its
tensors are these divided by 255); float inputs that are not integers are
rejected here.

The package exports the function :func:`nss` as ``mmderain.ops.nss``; this
module itself is ``importlib.import_module('mmderain.ops.nss')``.
"""
import functools
import math
import numbers
import os.path as osp
from typing import Optional, Tuple, Union

import numpy as np
import torch

try:  # the compiled CPU kernel is optional: built by `pip install -e .`
    from . import _nss_ext as _cpu_ext
except ImportError:  # pragma: no cover - depends on the build
    _cpu_ext = None

#: eta of the official offline ``sdr.py`` (``--pow`` default).
OFFLINE_ETA = 0.5
#: eta of the official online variant (``generateSDR_multiple.py``).
ONLINE_ETA = 1.0

_BACKENDS = ('auto', 'cpu', 'cuda', 'reference')
_CSRC = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc', 'nss')
#: nvcc flags of the CUDA kernel (setup.py and the run-time build).
CUDA_FLAGS = ('-O3', '--fmad=false')

Array = Union[np.ndarray, torch.Tensor]


def cpu_kernel_available() -> bool:
    """Whether the compiled CPU kernel was built (``pip install -e .``)."""
    return _cpu_ext is not None


@functools.lru_cache(maxsize=None)
def load_cuda_ext():
    """The CUDA kernel's module: the one built by ``pip install -e .``
    (``mmderain.ops._nss_cuda``) or, failing that, compiled now with
    ``torch.utils.cpp_extension.load`` (cached on disk under
    ``TORCH_EXTENSIONS_DIR``; ``CUDA_HOME`` names the toolkit when nvcc on
    the ``PATH`` is a wrapper script).

    Returns:
        module: A module with ``nss(image, ldgp, u, eta, threshold, window,
        sim_window, with_fused)``.

    Raises:
        RuntimeError: If it was not built and cannot be compiled.
    """
    try:
        from . import _nss_cuda
        return _nss_cuda
    except ImportError:
        pass
    from torch.utils.cpp_extension import load
    try:
        return load(
            name='mmderain_nss_cuda',
            sources=[osp.join(_CSRC, 'nss_cuda.cu')],
            extra_include_paths=[_CSRC],
            extra_cflags=['-O3'],
            extra_cuda_cflags=list(CUDA_FLAGS))
    except Exception as exc:  # compiler missing, build error, ...
        raise RuntimeError(
            'NSS on CUDA needs mmderain.ops._nss_cuda (reinstall with '
            '`FORCE_CUDA=1 pip install -e .`) or nvcc to compile '
            f'{osp.join(_CSRC, "nss_cuda.cu")} now: {exc}') from exc


def _check_int(value, name: str, low: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f'{name} must be an int, got {value!r}')
    if low is not None and value < low:
        raise ValueError(f'{name} must be >= {low}, got {value}')
    return int(value)


def _to_uint8(x: torch.Tensor, name: str) -> torch.Tensor:
    """``x`` as uint8; other dtypes must hold integers in 0..255."""
    if x.dtype == torch.uint8:
        return x
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f'{name} must be uint8 or hold integer values '
                        f'0..255, got dtype {x.dtype}')
    if x.numel():
        lo, hi = x.min().item(), x.max().item()
        whole = bool(torch.equal(x, x.round())) if x.is_floating_point() \
            else True
        if not (0 <= lo and hi <= 255 and whole):
            raise ValueError(
                f'{name} must hold integer values 0..255 (uint8, or e.g. '
                f'to_tensor(img) * 255), got {x.dtype} values in '
                f'[{lo}, {hi}]' + ('' if whole else ', not all integers'))
    return x.to(torch.uint8)


def _prepare(image: Array, ldgp: Array) -> Tuple[torch.Tensor, torch.Tensor]:
    """Checked uint8 tensors: image (H, W, C) and ldgp (H, W)."""
    for name, x in (('image', image), ('ldgp', ldgp)):
        if not isinstance(x, (np.ndarray, torch.Tensor)):
            raise TypeError(f'{name} must be a numpy array or a torch '
                            f'tensor, got {type(x).__name__}')
    if isinstance(image, np.ndarray):
        image = np.ascontiguousarray(image)  # e.g. img[..., ::-1]
    if isinstance(ldgp, np.ndarray):
        ldgp = np.ascontiguousarray(ldgp)
    img = torch.as_tensor(image)
    mask = torch.as_tensor(ldgp, device=img.device)
    if img.dim() != 3:
        raise ValueError('image must be H x W x C (channels last), got shape '
                         f'{tuple(img.shape)}')
    if mask.dim() == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.dim() != 2:
        raise ValueError('ldgp must be H x W (or H x W x 1), got shape '
                         f'{tuple(mask.shape)}')
    if tuple(mask.shape) != tuple(img.shape[:2]):
        raise ValueError(f'ldgp {tuple(mask.shape)} does not match the image '
                         f'size {tuple(img.shape[:2])} (H, W)')
    img = _to_uint8(img, 'image').contiguous()
    return img, _to_uint8(mask, 'ldgp').contiguous()


@functools.lru_cache(maxsize=8)
def _uniforms(num: int, seed: int) -> torch.Tensor:
    """The ``num`` uniforms every pixel's ``choice`` draws (float64; cached:
    seeding a RandomState takes longer than NSS on a small image; the
    kernels only read it)."""
    return torch.from_numpy(np.random.RandomState(seed).random_sample(num))


def _run_kernel(ext, img, mask, u, eta, threshold, window, sim_window,
                with_fused):
    out, fused = ext.nss(img, mask, u, float(eta), threshold, window,
                         sim_window, with_fused)
    return out, fused


def nss(image: Array,
        ldgp: Array,
        num: int = 50,
        eta: float = OFFLINE_ETA,
        threshold: int = 10,
        window: int = 7,
        sim_window: int = 3,
        seed: int = 0,
        backend: str = 'auto',
        return_fused: bool = False):
    """Stochastic derained references of one image (Rain2Avoid's NSS).

    Args:
        image (ndarray | Tensor): The rainy image, H x W x C (channels last,
            any C; BGR or RGB alike), uint8 or any dtype holding integers
            0..255 (e.g. ``to_tensor(img) * 255``).
        ldgp (ndarray | Tensor): The LDGP rain mask, H x W (or H x W x 1),
            values 0..255 as ``image``; ``> 0`` is rain.
        num (int): Number of references (``--sdr_num``). Defaults to 50.
        eta (float): Exponent of the patch distance in the weights
            ``1 / max(d ** eta, 1e-4)`` (``--pow``; :data:`OFFLINE_ETA`
            0.5, :data:`ONLINE_ETA` 1.0). Defaults to 0.5.
        threshold (int): Pixels with a mask value above it are replaced.
            Defaults to 10.
        window (int): Candidate window ``K`` (at least 3 is used). At most
            15 on CUDA. Defaults to 7.
        sim_window (int): Initial similarity window ``k``. Defaults to 3.
        seed (int): Seed of NumPy's ``RandomState`` (the official code
            reseeds 0 before every pixel). Defaults to 0.
        backend (str): ``'auto'`` (the CUDA kernel for CUDA tensors, else
            the compiled CPU kernel if built, else ``'reference'``),
            ``'cpu'``, ``'cuda'`` (inputs are moved there and the outputs
            back) or ``'reference'`` (:func:`nss_reference`, slow).
            Defaults to ``'auto'``.
        return_fused (bool): Also return the fused reference (see
            :func:`fuse_sdrs`). Defaults to False.

    Returns:
        ndarray | Tensor: The references, num x H x W x C, of the kind,
        dtype and device of ``image``; with ``return_fused`` a tuple
        ``(references, fused)``, fused H x W x C of the same kind.

    Raises:
        TypeError: On inputs that are not arrays/tensors or non-int sizes.
        ValueError: On shapes, values or arguments out of range, or an
            unknown backend.
        RuntimeError: If the requested kernel is not available.
    """
    if backend not in _BACKENDS:
        raise ValueError(f'backend must be one of {_BACKENDS}, got '
                         f'{backend!r}')
    num = _check_int(num, 'num', 1)
    threshold = _check_int(threshold, 'threshold')
    window = _check_int(window, 'window', 1)
    sim_window = _check_int(sim_window, 'sim_window', 1)
    seed = _check_int(seed, 'seed', 0)
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real) \
            or not math.isfinite(eta):
        raise ValueError(f'eta must be a finite number, got {eta!r}')
    img, mask = _prepare(image, ldgp)
    as_numpy = isinstance(image, np.ndarray)
    dtype = image.dtype
    device = img.device
    if backend == 'auto':
        if device.type == 'cuda':
            backend = 'cuda'
        else:
            backend = 'cpu' if _cpu_ext is not None else 'reference'
    u = _uniforms(num, seed)
    args = (u, eta, threshold, window, sim_window, return_fused)
    if backend == 'reference':
        out, fused = _reference_uint8(img.cpu().numpy(),
                                      mask.cpu().numpy(), num, eta, threshold,
                                      window, sim_window, seed, return_fused)
        out = torch.from_numpy(out)
        fused = None if fused is None else torch.from_numpy(fused)
    elif backend == 'cpu':
        if _cpu_ext is None:
            raise RuntimeError(
                'backend="cpu" needs the compiled kernel '
                '(mmderain.ops._nss_ext): run `pip install -e .` with a C++ '
                'compiler')
        out, fused = _run_kernel(_cpu_ext, img.cpu(), mask.cpu(), *args)
    else:
        if not torch.cuda.is_available():
            raise RuntimeError('backend="cuda" needs a CUDA device')
        cuda = device if device.type == 'cuda' else torch.device('cuda')
        out, fused = _run_kernel(load_cuda_ext(), img.to(cuda), mask.to(cuda),
                                 *args)
    out = _restore(out, as_numpy, dtype, device)
    if not return_fused:
        return out
    return out, _restore(fused, as_numpy, dtype, device)


def _restore(x: torch.Tensor, as_numpy: bool, dtype, device) -> Array:
    """uint8 result -> the caller's kind, dtype and device."""
    if as_numpy:
        return x.cpu().numpy().astype(dtype, copy=False)
    return x.to(device=device, dtype=dtype)


def fuse_sdrs(sdrs: Array) -> Array:
    """The fused reference: the mean of the references as uint8.

    The official ``sdr.py`` writes the float64 mean with ``cv2.imwrite``,
    which rounds half to even and saturates; the sum of uint8 values is
    exact, so this is exact too.

    Args:
        sdrs (ndarray | Tensor): The references, num x ... (e.g. num x H x W
            x C), values 0..255.

    Returns:
        ndarray | Tensor: The rounded mean over the first dimension, uint8,
        of the kind and device of ``sdrs``.

    Raises:
        ValueError: If ``sdrs`` has no reference.
    """
    if sdrs.shape[0] == 0 or sdrs.ndim < 2:
        raise ValueError('sdrs must be num x ... with num >= 1, got shape '
                         f'{tuple(sdrs.shape)}')
    if isinstance(sdrs, torch.Tensor):
        mean = sdrs.to(torch.float64).sum(0) / sdrs.shape[0]
        return torch.round(mean).clamp_(0, 255).to(torch.uint8)
    mean = np.asarray(sdrs, dtype=np.float64).sum(0) / sdrs.shape[0]
    return np.clip(np.rint(mean), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# plain NumPy reference


def _similarity_window(rain: np.ndarray, j: int, i: int, size: int) -> int:
    """Grow ``size`` by 2 while the window around (j, i) is all rain."""
    while True:
        r = size // 2
        if not rain[max(j - r, 0):j + r + 1, max(i - r, 0):i + r + 1].all():
            return size
        size += 2


def _reference_uint8(image, ldgp, num, eta, threshold, window, sim_window,
                     seed, return_fused):
    h, w, _ = image.shape
    rain = ldgp > 0
    radius = max(window, 3) // 2
    # every patch is a slice of the zero-padded image (mask: padding is not
    # rain, so it counts)
    pad = sim_window + 2 * radius + 2
    values = np.pad(image.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)))
    counts = np.pad(~rain, pad, constant_values=True)
    out = np.repeat(image[None], num, axis=0)

    def patch(y, x, size):
        rows = slice(y + pad - size // 2, y + pad - size // 2 + size)
        cols = slice(x + pad - size // 2, x + pad - size // 2 + size)
        return values[rows, cols], counts[rows, cols]

    for j in range(h):
        for i in range(w):
            if int(ldgp[j, i]) <= threshold:
                continue
            candidates = [
                (y, x)
                for y in range(max(j - radius, 0), min(j + radius + 1, h))
                for x in range(max(i - radius, 0), min(i + radius + 1, w))
                if not rain[y, x]
            ]
            if not candidates:
                continue  # the official choice() raises: pixel kept
            size = _similarity_window(rain, j, i, sim_window)
            centre, keep = patch(j, i, size)
            weights = []
            for y, x in candidates:
                dist = (np.abs(centre - patch(y, x, size)[0]) *
                        keep[..., None]).sum()
                # NumPy scalar power: the C library's pow
                weights.append(1 / max(np.float64(dist)**eta, 1e-4))
            p = np.array(weights).astype(np.float32)
            with np.errstate(divide='ignore', invalid='ignore'):
                p = p / p.sum()
            try:
                picks = np.random.RandomState(seed).choice(
                    len(candidates), num, p=p)
            except ValueError:  # e.g. all weights 0: the pixel is kept
                continue
            for k, q in enumerate(picks):
                out[k, j, i] = image[candidates[q]]
    return out, (fuse_sdrs(out) if return_fused else None)


def nss_reference(image: np.ndarray,
                  ldgp: np.ndarray,
                  num: int = 50,
                  eta: float = OFFLINE_ETA,
                  threshold: int = 10,
                  window: int = 7,
                  sim_window: int = 3,
                  seed: int = 0) -> np.ndarray:
    """NSS written plainly with NumPy, one pixel at a time.

    It follows the official algorithm step by step, including a fresh
    ``RandomState(seed).choice`` for every pixel; slow (seconds for a few
    thousand rain pixels), for tests.

    Args:
        image (ndarray): H x W x C, integers 0..255.
        ldgp (ndarray): H x W rain mask, integers 0..255.
        num, eta, threshold, window, sim_window, seed: As :func:`nss`.

    Returns:
        ndarray: num x H x W x C uint8 references.
    """
    out = nss(image, ldgp, num, eta, threshold, window, sim_window, seed,
              'reference')
    return out.astype(np.uint8)
