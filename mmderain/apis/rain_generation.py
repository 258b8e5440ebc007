# Copyright (c) mmderain contributors. All rights reserved.
"""Rain generation with a trained VRGNet: loading, latent mixing, sweeps."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from mmderain.registry import MODELS

#: The official 64-px VRGNet rain generator (latent 128, 32 base channels).
DEFAULT_RAIN_GENERATOR = dict(
    type='RainGenerator', latent_dim=128, base_channels=32, image_size=64)
#: The official 64-px VRGNet inference network.
DEFAULT_RAIN_ENCODER = dict(
    type='RainEncoder', latent_dim=128, base_channels=32, image_size=64)


def load_subnetwork(checkpoint: str,
                    cfg: dict,
                    prefix: str,
                    device: str = 'cpu') -> nn.Module:
    """Build ``cfg`` and load the ``prefix*`` weights of a checkpoint.

    Args:
        checkpoint (str): Checkpoint file (or a work dir: its
            ``last_checkpoint``), e.g. of a VRGNet joint run, whose keys
            are ``rain_generator.*``, ``rain_encoder.*``, ...
        cfg (dict): Config of the network.
        prefix (str): Key prefix of its weights, e.g. ``'rain_generator.'``.
        device (str): Device of the returned network. Defaults to 'cpu'.

    Returns:
        nn.Module: The network in eval mode, weights loaded strictly.

    Raises:
        KeyError: If the checkpoint has no ``prefix*`` weights.
    """
    from mmderain.engine.hooks.stage_checkpoint_hook import resolve_checkpoint
    from mmderain.utils.safe_loading import load_prefixed_weights
    path = resolve_checkpoint(checkpoint)
    weights = load_prefixed_weights(path, prefix)
    if not weights:
        raise KeyError(
            f'{path} has no {prefix}* weights: expected a VRGNet checkpoint '
            '(or official ED weights converted with tools/convert/vrgnet.py)')
    net = MODELS.build(cfg)
    net.load_state_dict(weights, strict=True)
    return net.to(device).eval()


def mix_latents(z1: torch.Tensor, z2: torch.Tensor,
                weights: Sequence[float]) -> torch.Tensor:
    """Variance-preserving mixes ``(w z1 + (1-w) z2) / sqrt(w^2 + (1-w)^2)``.

    The interpolation of VRGNet's ``test_interpolation.py``: every mix of
    two standard-normal codes is again standard normal.

    Args:
        z1 (Tensor): Latent code (D,).
        z2 (Tensor): Latent code (D,).
        weights (Sequence[float]): Weights ``w`` of ``z1`` in [0, 1].

    Returns:
        Tensor: The mixed codes (len(weights), D).
    """
    w = torch.as_tensor(
        list(weights), dtype=z1.dtype, device=z1.device)[:, None]
    return (w * z1 + (1 - w) * z2) / torch.sqrt(w**2 + (1 - w)**2)


def sweep_latent(z: torch.Tensor, dims: Sequence[int],
                 values: Sequence[float]) -> torch.Tensor:
    """Codes equal to ``z`` except one dimension swept over ``values``.

    Row ``i`` of the result block sets ``z[dims[i]]`` to each value in turn;
    every other entry keeps its value from ``z`` (the official
    ``test_disentanglement.py`` aliases its base code and lets earlier
    sweeps leak into later rows; this does not).

    Args:
        z (Tensor): Base code (D,).
        dims (Sequence[int]): Dimensions to sweep.
        values (Sequence[float]): Values of the swept dimension.

    Returns:
        Tensor: Codes (len(dims) * len(values), D), row-major by dimension.
    """
    out = z.repeat(len(dims) * len(values), 1)
    vals = torch.as_tensor(list(values), dtype=z.dtype, device=z.device)
    for i, d in enumerate(dims):
        if not 0 <= d < z.numel():
            raise ValueError(f'latent dimension {d} outside [0, {z.numel()})')
        out[i * len(vals):(i + 1) * len(vals), d] = vals
    return out


def rain_to_gray(rain: torch.Tensor) -> torch.Tensor:
    """Grey rain layer (channel max, repeated to 3 channels), as the
    official interpolation figures show it."""
    return rain.amax(1, keepdim=True).expand_as(rain)


@torch.no_grad()
def generate_rain(rain_generator: nn.Module,
                  num: int,
                  z: Optional[torch.Tensor] = None,
                  seed: Optional[int] = None) -> torch.Tensor:
    """Rain layers ``G(z)`` with ``z ~ N(0, I)`` (seeded) or given codes.

    Args:
        rain_generator (nn.Module): Generator with a ``latent_dim``.
        num (int): Number of layers (ignored when ``z`` is given).
        z (Tensor, optional): Codes (num, D).
        seed (int, optional): Seed of the codes.

    Returns:
        Tensor: Rain layers (num, 3, S, S).
    """
    device = next(rain_generator.parameters()).device
    if z is None:
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(num, rain_generator.latent_dim, generator=g)
    return rain_generator(z.to(device))


def real_rain_layers(rainy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Rain layers ``max(O - B, 0)`` of rainy/clean pairs (any batch shape,
    images in [0, 1]); the additive model ``O = B + R`` with ``R >= 0``, as
    VRGNet's generator produces it."""
    if rainy.shape != clean.shape:
        raise ValueError(f'rainy {tuple(rainy.shape)} and clean '
                         f'{tuple(clean.shape)} shapes differ')
    return (rainy - clean).clamp_min(0)


def rain_layer_statistics(rain: torch.Tensor, threshold: float = 0.05) -> dict:
    """Scalar statistics that tell rain streaks from other textures.

    For rain layers ``R`` (N, 3, H, W) in image units (RGB, ``>= 0``):

    * ``mean``: mean intensity;
    * ``coverage``: fraction of pixels whose grey level (channel mean)
      exceeds ``threshold``;
    * ``chroma``: ``sum(max_c R - min_c R) / sum(max_c R)``: 0 for grey
      (white) rain, up to 1 for rain in one channel only, such as the
      coloured speckle of an untrained generator;
    * ``coherence``: orientation coherence of the grey layer's gradients
      (structure tensor ``J`` averaged over each layer,
      ``sqrt((Jxx - Jyy)^2 + 4 Jxy^2) / (Jxx + Jyy)``, mean over layers):
      near 1 for parallel streaks, near 0 for isotropic texture;
    * ``diversity``: per-pixel standard deviation over the N layers,
      averaged (0 if the layers do not depend on ``z``).

    Args:
        rain (Tensor): Rain layers (N, 3, H, W), N >= 2.
        threshold (float): Grey level counted as rain. Defaults to 0.05
            (about 13/255).

    Returns:
        dict[str, float]: The statistics above.
    """
    if rain.dim() != 4 or rain.shape[1] != 3 or rain.shape[0] < 2:
        raise ValueError('rain must be (N >= 2, 3, H, W), got '
                         f'{tuple(rain.shape)}')
    rain = rain.detach().double()
    grey = rain.mean(1, keepdim=True)
    cmax, cmin = rain.amax(1), rain.amin(1)
    sobel = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]],
                         dtype=rain.dtype)
    kernels = torch.stack([sobel, sobel.t()])[:, None]
    grad = torch.nn.functional.conv2d(grey, kernels)
    gx, gy = grad[:, 0], grad[:, 1]
    jxx = (gx * gx).flatten(1).mean(1)
    jyy = (gy * gy).flatten(1).mean(1)
    jxy = (gx * gy).flatten(1).mean(1)
    coherence = ((jxx - jyy)**2 + 4 * jxy**2).sqrt() / (jxx + jyy + 1e-12)
    return dict(
        mean=rain.mean().item(),
        coverage=(grey > threshold).double().mean().item(),
        chroma=((cmax - cmin).sum() / cmax.sum().clamp_min(1e-12)).item(),
        coherence=coherence.mean().item(),
        diversity=rain.std(0).mean().item())
