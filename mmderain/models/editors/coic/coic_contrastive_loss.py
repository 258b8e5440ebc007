# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC's rain-/detail-aware contrastive loss and its negatives.

As coded officially (``Schizophreni/CoIC``: ``models/contrastive.py``
``MoCo.forward``, ``train_BRN.py``, ``mix_dataset.py``), for a batch of
queries (whole rainy images resized to the crop size):

* the positive key is the query flipped (random H then V flip);
* the *rain-aware* negative is the clean crop plus the most different rain
  layer of a bank (:func:`hardest_rain_negative`: arg-max of the L1
  distance), clamped to [0, 1];
* the *detail-aware* negatives are the resized clean image, blurred
  (Gaussian, 11 x 11, sigma in [0.3, 1.5]) and randomly flipped
  (:func:`detail_negatives`);
* the encoder's L2-normalised feature maps (C, h, w) are compared by their
  mean per-pixel cosine similarity (:func:`contrastive_logits`), and
  ``loss = loss_weight * CrossEntropy([l_pos, l_neg...] / tau, 0)``
  (:class:`CoICContrastiveLoss`, ``tau = 1``, ``loss_weight = 0.2``).

The official transforms act on whole batch tensors, so their randomness is
drawn once per batch: one sigma and one pair of flips for all samples, and
the ``n`` detail negatives of a sample are identical copies. That is
``per_sample=False`` here (the default, drawing from PyTorch's global CPU
generator in the order torchvision does, so a seeded run reproduces the
official tensors); ``per_sample=True`` draws them per negative (the
paper's intent).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS


def contrastive_logits(query: torch.Tensor, key: torch.Tensor,
                       negatives: torch.Tensor) -> torch.Tensor:
    """Mean per-pixel cosine similarities ``[l_pos, l_neg_1..l_neg_N]``.

    ``l = (1 / (h*w)) * sum_{c,h,w} f_q * f``, for L2-normalised (over the
    channels) feature maps, as the official ``MoCo.forward`` (before the
    temperature).

    Args:
        query (Tensor): Query features (B, C, h, w).
        key (Tensor): Positive-key features (B, C, h, w).
        negatives (Tensor): Negative features (B, N, C, h, w).

    Returns:
        Tensor: Similarities (B, 1 + N), the positive first.

    Raises:
        ValueError: If the shapes do not match.
    """
    if query.dim() != 4 or key.shape != query.shape or (
            negatives.dim() != 5 or negatives.shape[0] != query.shape[0]
            or negatives.shape[2:] != query.shape[1:]):
        raise ValueError(
            'contrastive_logits expects query and key (B, C, h, w) and '
            f'negatives (B, N, C, h, w), got {tuple(query.shape)}, '
            f'{tuple(key.shape)} and {tuple(negatives.shape)}')
    b, n = negatives.shape[:2]
    hw = query.shape[2] * query.shape[3]
    q = query.reshape(b, -1)
    l_pos = (q * key.reshape(b, -1)).sum(dim=-1, keepdim=True) / hw
    l_neg = torch.bmm(negatives.reshape(b, n, -1), q.unsqueeze(-1))
    return torch.cat([l_pos, l_neg.squeeze(-1) / hw], dim=1)


@torch.no_grad()
def hardest_rain_index(rain: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """Index of the bank rain layer farthest (L1) from each rain layer.

    Args:
        rain (Tensor): Rain layers (B, C, h, w).
        bank (Tensor): Candidate rain layers (N, C, h, w).

    Returns:
        Tensor: ``argmax_j ||rain_b - bank_j||_1`` (B,) (first index on
        ties, as ``torch.argmax``).

    Raises:
        ValueError: If the layer shapes differ.
    """
    if rain.dim() != 4 or bank.dim() != 4 or rain.shape[1:] != bank.shape[1:]:
        raise ValueError('rain and bank must be (B, C, h, w) and (N, C, h, '
                         f'w) with equal layers, got {tuple(rain.shape)} and '
                         f'{tuple(bank.shape)}')
    # (1, B, D) x (1, N, D) -> (B, N) L1 distances, no (B, N, D) tensor
    dist = torch.cdist(
        rain.flatten(1).unsqueeze(0), bank.flatten(1).unsqueeze(0), p=1)[0]
    return dist.argmax(dim=-1)


def hardest_rain_negative(rain: torch.Tensor,
                          bank: torch.Tensor) -> torch.Tensor:
    """The bank rain layer most different (L1) from each rain layer.

    Official ``train_*.py``: ``argmax_j sum |rho_b - rho'_j|`` over the
    bank (the current batch for BRN and IDT, the last ~64 rain layers for
    the others), computed here with ``torch.cdist(p=1)`` on flattened layers
    instead of a (B, N, C, h, w) difference tensor. The rain-aware negative
    is ``clamp(clean + hardest_rain_negative(rain, bank), 0, 1)``.

    Args:
        rain (Tensor): Rain layers ``rainy - clean`` (B, C, h, w).
        bank (Tensor): Candidate rain layers (N, C, h, w), e.g. ``rain``
            itself.

    Returns:
        Tensor: The selected layers (B, C, h, w).
    """
    return bank[hardest_rain_index(rain, bank)]


def gaussian_kernel1d(sigma: torch.Tensor, kernel_size: int,
                      dtype: torch.dtype) -> torch.Tensor:
    """Normalised 1-D Gaussians, one per sigma (torchvision's formula).

    Args:
        sigma (Tensor): Standard deviations (S,).
        kernel_size (int): Odd kernel size.
        dtype (torch.dtype): Output dtype.

    Returns:
        Tensor: Kernels (S, kernel_size).
    """
    half = (kernel_size - 1) * 0.5
    x = torch.linspace(
        -half, half, steps=kernel_size, dtype=dtype, device=sigma.device)
    pdf = torch.exp(-0.5 * (x / sigma.to(dtype)[:, None]).pow(2))
    return pdf / pdf.sum(-1, keepdim=True)


def _blur(images: torch.Tensor, sigma: torch.Tensor,
          kernel_size: int) -> torch.Tensor:
    """Gaussian blur of each image with its own sigma (reflect padding).

    ``images`` (S, C, h, w), ``sigma`` (S,) or (1,) for one shared sigma;
    the 2-D kernel is the outer product of the 1-D one (torchvision's
    ``gaussian_blur`` on tensors).
    """
    s, c, h, w = images.shape
    k1 = gaussian_kernel1d(sigma.to(images.device), kernel_size, images.dtype)
    k2 = torch.bmm(k1[:, :, None], k1[:, None, :])  # (S or 1, k, k)
    pad = kernel_size // 2
    padded = F.pad(images, [pad, pad, pad, pad], mode='reflect')
    if k2.shape[0] == 1:
        weight = k2.expand(c, 1, kernel_size, kernel_size)
        return F.conv2d(padded, weight, groups=c)
    weight = k2.repeat_interleave(c, 0).unsqueeze(1)  # (S*C, 1, k, k)
    out = F.conv2d(
        padded.reshape(1, s * c, h + 2 * pad, w + 2 * pad),
        weight,
        groups=s * c)
    return out.view(s, c, h, w)


def _flip(images: torch.Tensor, flip: torch.Tensor, dim: int) -> torch.Tensor:
    """Flip ``images`` along ``dim`` where ``flip`` (S,) or (1,) is True."""
    if flip.numel() == 1:
        return images.flip(dim) if bool(flip) else images
    return torch.where(
        flip.to(images.device).view(-1, 1, 1, 1), images.flip(dim), images)


def detail_negatives(
        images: torch.Tensor,
        num: int,
        blur: bool = True,
        per_sample: bool = False,
        kernel_size: int = 11,
        sigma: Sequence[float] = (0.3, 1.5),
        generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """``num`` randomly blurred and flipped copies of each image.

    Official ``neg_transform`` (``GaussianBlur(11, (0.3, 1.5))``,
    ``RandomHorizontalFlip()``, ``RandomVerticalFlip()``, applied to the
    batch of ``num`` repeated clean images) and, with ``blur=False``,
    ``k_transform`` (the two flips: the positive key from the query).

    Args:
        images (Tensor): Images (B, C, h, w), e.g. resized clean images.
        num (int): Copies per image (official ``--n_neg``: 4).
        blur (bool): Blur before flipping. Defaults to True.
        per_sample (bool): Draw sigma and the flips per copy (paper intent)
            instead of once per call, i.e. per batch (official: the ``num``
            copies of an image are then identical). Defaults to False.
        kernel_size (int): Odd Gaussian kernel size. Defaults to 11.
        sigma (tuple[float]): Range of the uniform sigma. Defaults to
            ``(0.3, 1.5)``.
        generator (torch.Generator, optional): CPU generator of the draws;
            None uses the global one (as torchvision). Per batch the draws
            are torchvision's: ``sigma`` (if ``blur``), then the horizontal
            and the vertical flip, each flip with probability 0.5.

    Returns:
        Tensor: (B, num, C, h, w).

    Raises:
        ValueError: On bad arguments.
    """
    if images.dim() != 4:
        raise ValueError('images must be (B, C, h, w), got '
                         f'{tuple(images.shape)}')
    if num < 1:
        raise ValueError(f'num must be >= 1, got {num}')
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd, got {kernel_size}')
    lo, hi = float(sigma[0]), float(sigma[1])
    if not 0 < lo <= hi:
        raise ValueError(f'sigma must be (min, max) with 0 < min <= max, '
                         f'got {tuple(sigma)}')
    b, c, h, w = images.shape
    draws = b * num if per_sample else 1
    if per_sample:
        out = images.unsqueeze(1).expand(b, num, c, h,
                                         w).reshape(b * num, c, h, w)
    else:  # identical copies: transform once, then repeat
        out = images
    if blur:
        sig = torch.empty(draws).uniform_(lo, hi, generator=generator)
        out = _blur(out, sig, kernel_size)
    out = _flip(out, torch.rand(draws, generator=generator) < 0.5, -1)
    out = _flip(out, torch.rand(draws, generator=generator) < 0.5, -2)
    if per_sample:
        return out.view(b, num, c, h, w)
    return out.unsqueeze(1).expand(b, num, c, h, w).contiguous()


@MODELS.register_module()
class CoICContrastiveLoss(nn.Module):
    """CoIC's rain-/detail-aware contrastive loss.

    ``loss = loss_weight * CrossEntropy(logits / temperature, 0)`` with
    ``logits = [l_pos, l_neg_1..l_neg_N]`` the mean per-pixel cosine
    similarities of the query's feature map with the positive key's and the
    negatives' (:func:`contrastive_logits`), as officially (MoCo
    ``logits / T`` and ``nn.CrossEntropyLoss`` with target 0, times
    ``--contra_loss_weight``).

    Args:
        loss_weight (float): Weight (official README: 0.2 for every
            backbone). Defaults to 0.2.
        temperature (float): Softmax temperature ``tau`` (official
            ``--temperature``: 1.0). Defaults to 1.0.
    """

    def __init__(self,
                 loss_weight: float = 0.2,
                 temperature: float = 1.0) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.loss_weight = loss_weight
        self.temperature = temperature

    def forward(self,
                logits_or_query: torch.Tensor,
                key: Optional[torch.Tensor] = None,
                negatives: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Loss from similarities, or from the three feature maps.

        Args:
            logits_or_query (Tensor): Similarities (B, 1 + N), positive
                first (e.g. from ``MomentumEncoder``), or, with ``key`` and
                ``negatives``, the query features (B, C, h, w).
            key (Tensor, optional): Positive-key features (B, C, h, w).
            negatives (Tensor, optional): Negative features
                (B, N, C, h, w).

        Returns:
            Tensor: The weighted loss (scalar).

        Raises:
            ValueError: If only one of ``key``/``negatives`` is given or the
                similarities are not (B, 1 + N).
        """
        if (key is None) != (negatives is None):
            raise ValueError('give both key and negatives features, or '
                             'neither (similarities as the first argument)')
        logits = logits_or_query
        if key is not None:
            logits = contrastive_logits(logits_or_query, key, negatives)
        elif logits.dim() != 2 or logits.shape[1] < 2:
            raise ValueError('similarities must be (B, 1 + N) with N >= 1, '
                             f'got {tuple(logits.shape)}')
        target = torch.zeros(
            logits.shape[0], dtype=torch.long, device=logits.device)
        loss = F.cross_entropy(logits / self.temperature, target)
        return self.loss_weight * loss
