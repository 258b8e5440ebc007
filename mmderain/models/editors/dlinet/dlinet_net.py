# Copyright (c) mmderain contributors. All rights reserved.
"""DLINet: decoupled rain-location / rain-intensity deraining network.

Re-implementation of *An Efficient Single Image De-Raining Model With
Decoupled Deep Networks* (IEEE TIP 2024, official code:
lwcbbd/DLINet_2023TIP, commit ``339ca70``).

The network predicts a rain layer ``R``; the derained image is ``x - R``.
It is made of three parts:

* ``rain_detect``: a rain-location detector predicting ``K`` masks ``M``.
  Stage 1 (*joint* training) uses :class:`JointRainDetector`, which also sees
  the clean image and binarises its masks with a straight-through estimator
  (:class:`ActBinarizer01`). Stage 2 (*task-oriented* training, the deployed
  model) uses :class:`RainDetector`, an HRNet followed by Laplacian-pyramid
  heads and a sigmoid.
* ``rain_estimate``: :class:`RainEstimator`, ``N`` progressive mask-guided
  blocks (:class:`MSABlock`), each predicting one rain-streak layer ``S_i``.
* ``fusion``: :class:`CollaborativeFusion`, which scores every
  (streak ``i``, mask ``k``) pair and returns
  ``R_c = sum_i sum_k match[i, k] * M_k * S_{i, c}``.

Conventions (as in the official code):

* Inputs are **RGB** images (the official loader reads them with
  ``imageio``), float tensors in **[0, 255]** (``rgb_range = 255``, no mean
  shift), shape (B, 3, H, W). ``R`` is in the same scale and is not clamped.
* The stage-2 detector downsamples three times by 2, so H and W must be
  multiples of :attr:`DLINet.pad_multiple` (8); the official trainer crops
  to a multiple of 8. Pad (e.g. reflect) before calling and crop afterwards.
* Module and parameter names mirror the official ones, so official state
  dicts load after stripping a ``module.``/``model.`` prefix
  (:func:`convert_official_dlinet`).
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.ops import masked_global_pool, masked_global_pool_reference
from mmderain.registry import MODELS
from .dlinet_detector import (JointRainDetector, MaskSpatialAttention,
                              RainDetector, ResBlock, _conv3x3, _encoder)


class BasicBlock(nn.Module):
    """``x + [ResBlock, LeakyReLU] x 3 + ResBlock`` (official ``BASIC_BLOCK``).

    Args:
        channels (int): Feature channels.
        num_blocks (int): Residual blocks. Defaults to 4.
    """

    def __init__(self, channels: int, num_blocks: int = 4) -> None:
        super().__init__()
        layers = []
        for k in range(num_blocks):
            layers.append(ResBlock(channels, nn.LeakyReLU(0.2)))
            if k < num_blocks - 1:
                layers.append(nn.LeakyReLU(0.2))
        self.bodylayer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        return self.bodylayer(x) + x


class MSABlock(nn.Module):
    """Mask-guided spatial-attention block (official ``MSA_BLOCK``).

    With image residual ``b``, features ``f`` and masks ``M``::

        sa  = MaskSpatialAttention(rain_encoder(b), M)
        fr  = basic_block(lrelu(f)) * sa
        S   = decoder(lrelu(fr))
        return S, f - fr, b - S

    Args:
        num_masks (int): Number of masks ``K``.
        mid_channels (int): Feature channels.
    """

    def __init__(self, num_masks: int, mid_channels: int) -> None:
        super().__init__()
        self.rain_encoder = _conv3x3(3, num_masks)
        self.sa_block = MaskSpatialAttention()
        self.basic_block = BasicBlock(mid_channels)
        self.decoder = _conv3x3(mid_channels, 3)

    def forward(self, b: torch.Tensor, f: torch.Tensor,
                masks: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return ``(streak, next features, next image residual)``."""
        sa = self.sa_block(self.rain_encoder(b), masks)
        fr = self.basic_block(F.leaky_relu(f, 0.2)) * sa
        streak = self.decoder(F.leaky_relu(fr, 0.2))
        return streak, f - fr, b - streak


class RainEstimator(nn.Module):
    """Progressive rain-intensity estimation (official ``RAIN_ESTIMATION``).

    Args:
        num_masks (int): Number of masks ``K``.
        num_blocks (int): Number of :class:`MSABlock` (streak layers) ``N``.
        mid_channels (int): Feature channels.
    """

    def __init__(self, num_masks: int, num_blocks: int,
                 mid_channels: int) -> None:
        super().__init__()
        self.rain_encoder = _encoder(3, mid_channels, nn.LeakyReLU(0.2))
        self.msa_list = nn.ModuleList(
            MSABlock(num_masks, mid_channels) for _ in range(num_blocks))

    def forward(self, x: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Streak layers stacked as (B, N, 3, H, W)."""
        f, b = self.rain_encoder(x), x
        streaks = []
        for block in self.msa_list:
            streak, f, b = block(b, f, masks)
            streaks.append(streak)
        return torch.stack(streaks, 1)


# ---------------------------------------------------------------------------
# High-order collaborative fusion
# ---------------------------------------------------------------------------
def _mlp(num_masks: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(num_masks, hidden, 1),
        nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
        nn.Conv2d(hidden, num_masks, 1))


class FusionBlock(nn.Module):
    """Match scores of one streak against the K masks (``FUSION_BLOCK``).

    With ``s = S_r + S_g + S_b``, ``P = M * s`` and ``Q = (1 - M) * s``::

        pos   = sigmoid(pos_attention1(GAP(P)) + pos_attention2(GMP(P)))
        neg   = sigmoid(neg_attention1(GAP(Q)) + neg_attention2(GMP(Q)))
        match = sigmoid(pos - neg)                       # (B, K, 1, 1)

    Args:
        num_masks (int): Number of masks ``K``.
        hidden (int): Hidden width of the four MLPs. Defaults to 32.
    """

    def __init__(self, num_masks: int, hidden: int = 32) -> None:
        super().__init__()
        self.pos_attention1 = _mlp(num_masks, hidden)
        self.pos_attention2 = _mlp(num_masks, hidden)
        self.neg_attention1 = _mlp(num_masks, hidden)
        self.neg_attention2 = _mlp(num_masks, hidden)

    def score(self, avg_pos: torch.Tensor, max_pos: torch.Tensor,
              avg_neg: torch.Tensor, max_neg: torch.Tensor) -> torch.Tensor:
        """Match scores (B, K) from the pooled products, each (B, K)."""

        def mlp(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
            return layers(x[..., None, None]).flatten(1)

        pos = torch.sigmoid(
            mlp(self.pos_attention1, avg_pos) +
            mlp(self.pos_attention2, max_pos))
        neg = torch.sigmoid(
            mlp(self.neg_attention1, avg_neg) +
            mlp(self.neg_attention2, max_neg))
        return torch.sigmoid(pos - neg)

    def forward(self, masks: torch.Tensor,
                streak: torch.Tensor) -> torch.Tensor:
        """Match scores (B, K) of ``streak`` (B, 3, H, W) and ``masks``.

        The straightforward computation of one streak; the fused path of
        :class:`CollaborativeFusion` pools all streaks at once.
        """
        s = streak[:, 0:1] + streak[:, 1:2] + streak[:, 2:3]
        stats = masked_global_pool_reference(masks, s)
        return self.score(*(t[:, 0] for t in stats))


class CollaborativeFusion(nn.Module):
    """High-order collaborative fusion (official ``da.FUSION``).

    ``R[b, c] = sum_{i, k} match[b, i, k] * M[b, k] * S[b, i, c]``, computed
    with batched matrix products and one fused pooling op instead of the
    official loops over streaks and channels (equal up to float summation
    order; ``benchmarks/bench_dlinet.py`` measures the gain).

    Args:
        num_streaks (int): Number of streak layers ``N``.
        num_masks (int): Number of masks ``K``.
        hidden (int): Hidden width of the match MLPs. Defaults to 32.
    """

    def __init__(self,
                 num_streaks: int,
                 num_masks: int,
                 hidden: int = 32) -> None:
        super().__init__()
        self.fusion_list = nn.ModuleList(
            FusionBlock(num_masks, hidden) for _ in range(num_streaks))

    def match(self, streaks: torch.Tensor,
              masks: torch.Tensor) -> torch.Tensor:
        """Match scores (B, N, K) of streaks (B, N, 3, H, W) and masks.

        The global statistics of all ``N x K`` products come from one
        :func:`~mmderain.ops.masked_global_pool` call.
        """
        s = streaks[:, :, 0] + streaks[:, :, 1] + streaks[:, :, 2]
        stats = masked_global_pool(masks, s)
        return torch.stack([
            block.score(*(t[:, i] for t in stats))
            for i, block in enumerate(self.fusion_list)
        ], 1)

    def forward(self, streaks: torch.Tensor,
                masks: torch.Tensor) -> torch.Tensor:
        """Rain layer (B, 3, H, W) from streaks (B, N, 3, H, W) and masks.

        ``R = sum_k M_k * (sum_i match[i, k] S_i)``: one batched matrix
        product over the streaks, then a mask-weighted sum over ``k``.
        """
        b, n, c, h, w = streaks.shape
        match = self.match(streaks, masks)
        mixed = torch.bmm(match.transpose(1, 2), streaks.reshape(b, n, -1))
        rain = torch.einsum('bkp,bkcp->bcp', masks.reshape(b, -1, h * w),
                            mixed.view(b, -1, c, h * w))
        return rain.view(b, c, h, w)


@MODELS.register_module()
class DLINet(nn.Module):
    """DLINet: decoupled rain location / intensity network.

    Args:
        num_masks (int): Number of rain-location masks ``K``. Defaults to 10.
        num_msa_blocks (int): Number of progressive blocks / streak layers
            ``N``. Defaults to 15.
        mid_channels (int): Feature channels (also the hidden width of the
            fusion MLPs); 32 in the official code. Defaults to 32.
        stage (str): ``'second'`` (deployed model, rainy-only HRNet
            detector with soft masks) or ``'first'`` (joint stage, detector
            sees the clean image and outputs binary masks). Defaults to
            ``'second'``.

    Images are RGB float tensors in [0, 255], (B, 3, H, W); see the module
    docstring. In stage ``'second'`` H and W must be multiples of
    :attr:`pad_multiple`.
    """

    #: H and W must be multiples of this (stage-2 HRNet downsamples by 8).
    pad_multiple = 8

    def __init__(self,
                 num_masks: int = 10,
                 num_msa_blocks: int = 15,
                 mid_channels: int = 32,
                 stage: str = 'second') -> None:
        super().__init__()
        if stage not in ('first', 'second'):
            raise ValueError(
                f"stage must be 'first' or 'second', got {stage!r}")
        if num_masks < 1 or num_msa_blocks < 1:
            raise ValueError('num_masks and num_msa_blocks must be >= 1')
        self.stage = stage
        self.num_masks = num_masks
        self.num_msa_blocks = num_msa_blocks
        if stage == 'first':
            self.rain_detect = JointRainDetector(num_masks, mid_channels)
        else:
            self.rain_detect = RainDetector(num_masks, mid_channels)
        self.rain_estimate = RainEstimator(num_masks, num_msa_blocks,
                                           mid_channels)
        self.fusion = CollaborativeFusion(num_msa_blocks, num_masks,
                                          mid_channels)

    def detect(self,
               x: torch.Tensor,
               clean: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Rain-location masks (B, K, H, W).

        Stage ``'first'``: binary {0, 1} masks (needs ``clean``); these are
        the stage-2 BCE targets. Stage ``'second'``: soft masks in (0, 1).

        Args:
            x (Tensor): Rainy RGB images in [0, 255], (B, 3, H, W).
            clean (Tensor, optional): Clean images, stage ``'first'`` only.
        """
        if self.stage == 'first':
            if clean is None:
                raise ValueError("stage 'first' needs the clean image")
            if clean.shape != x.shape:
                raise ValueError(f'clean {tuple(clean.shape)} and rainy '
                                 f'{tuple(x.shape)} shapes differ')
            return self.rain_detect(x, clean)
        if clean is not None:
            raise ValueError("stage 'second' does not take a clean image")
        h, w = x.shape[-2:]
        if h % self.pad_multiple or w % self.pad_multiple:
            raise ValueError(
                f'H and W must be multiples of {self.pad_multiple}, got '
                f'{h}x{w}; pad the input first')
        return self.rain_detect(x)

    def forward(
        self,
        x: torch.Tensor,
        clean: Optional[torch.Tensor] = None,
        return_masks: bool = False
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Predict the rain layer.

        Args:
            x (Tensor): Rainy RGB images in [0, 255], (B, 3, H, W).
            clean (Tensor, optional): Clean images (same shape), required in
                stage ``'first'`` and refused in stage ``'second'``.
            return_masks (bool): Also return the masks. Defaults to False.

        Returns:
            Tensor | tuple[Tensor, Tensor]: The rain layer ``R``
            (B, 3, H, W), in the input scale and not clamped (derained image
            ``x - R``), and with ``return_masks`` the masks (B, K, H, W).
        """
        masks = self.detect(x, clean)
        streaks = self.rain_estimate(x, masks)
        rain = self.fusion(streaks, masks)
        return (rain, masks) if return_masks else rain
