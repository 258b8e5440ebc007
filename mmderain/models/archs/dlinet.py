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
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.ops import masked_global_pool, masked_global_pool_reference
from mmderain.registry import MODELS


def _conv3x3(in_channels: int, out_channels: int, bias: bool = True):
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=bias)


def _encoder(in_channels: int, channels: int, act: nn.Module):
    """``conv3x3 -> act -> conv3x3`` (``act`` is a fresh module)."""
    return nn.Sequential(
        _conv3x3(in_channels, channels), act, _conv3x3(channels, channels))


class ResBlock(nn.Module):
    """EDSR residual block with BatchNorm: ``x + BN(conv(act(BN(conv x))))``.

    There is no activation after the sum. ``body`` indices are
    0 = conv, 1 = BN, 2 = act, 3 = conv, 4 = BN (official layout).

    Args:
        channels (int): Feature channels.
        act (nn.Module): Activation between the two convolutions.
        bias (bool): Whether the convolutions have a bias. Defaults to True.
    """

    def __init__(self,
                 channels: int,
                 act: nn.Module,
                 bias: bool = True) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv3x3(channels, channels, bias), nn.BatchNorm2d(channels), act,
            _conv3x3(channels, channels, bias), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to features (B, C, H, W)."""
        return self.body(x) + x


def _res_layer(num_blocks: int,
               channels: int,
               act: str = 'relu',
               bias: bool = True) -> nn.Sequential:

    def make_act():
        return nn.ReLU(True) if act == 'relu' else nn.LeakyReLU(0.2)

    return nn.Sequential(
        *[ResBlock(channels, make_act(), bias) for _ in range(num_blocks)])


class BinarizeSTE(torch.autograd.Function):
    """Binarise to {0, 1} with an approximate-sign straight-through gradient.

    Forward: ``y = clamp(sign(x), 0, 1)`` (1 where ``x > 0``, else 0).
    Backward: ``dL/dx = (2 - 2 |clamp(x, -1, 1)|) * dL/dy``, zero for
    ``|x| >= 1``. Identical to the official ``ActivationBinarizerFunction01``
    but keeps the input with ``save_for_backward``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        """Binarise ``x``."""
        ctx.save_for_backward(x)
        return x.sign().clamp(0, 1)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        """Straight-through approximate-sign gradient."""
        x, = ctx.saved_tensors
        return (2 - 2 * x.clamp(-1, 1).abs()) * grad_output


class ActBinarizer01(nn.Module):
    """Module wrapper of :class:`BinarizeSTE`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Binarise ``x`` to {0, 1}."""
        return BinarizeSTE.apply(x)


class MaskSpatialAttention(nn.Module):
    """Spatial attention of mask-weighted features.

    ``sigmoid(conv7x7([mean_c(x * M), max_c(x * M)]))`` -> (B, 1, H, W).

    Args:
        kernel_size (int): Size of the attention convolution. Defaults to 7.
    """

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attention map from features ``x`` and masks ``mask`` (B, K, H, W).
        """
        x = x * mask
        stats = torch.cat([x.mean(1, keepdim=True),
                           x.max(1, keepdim=True)[0]], 1)
        return torch.sigmoid(self.conv1(stats))


# ---------------------------------------------------------------------------
# Stage-1 detector
# ---------------------------------------------------------------------------
class JointRainDetector(nn.Module):
    """Stage-1 rain-location detector (official ``lmrd_tjt.RAIN_DETECTION``).

    Sees the rainy and the clean image and outputs binary masks, the
    "learned labels" that supervise the stage-2 detector.

    Args:
        num_masks (int): Number of masks ``K``.
        mid_channels (int): Feature channels. Defaults to 32.
        num_blocks (int): Residual blocks of the body. Defaults to 8.
    """

    def __init__(self,
                 num_masks: int,
                 mid_channels: int = 32,
                 num_blocks: int = 8) -> None:
        super().__init__()
        c = mid_channels
        self.input_encoder_rain = _encoder(3, c, nn.ReLU(True))
        self.input_encoder_norain = _encoder(3, c, nn.ReLU(True))
        self.body_layer = _res_layer(num_blocks, c, 'relu')
        self.mask_decoder = nn.Sequential(
            _conv3x3(c, c), nn.ReLU(True), _conv3x3(c, num_masks))
        self.act = ActBinarizer01()

    def forward(self, rain: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """Binary masks (B, K, H, W) in {0, 1} from rainy and clean images.
        """
        feat = self.input_encoder_rain(rain) + self.input_encoder_norain(clean)
        return self.act(self.mask_decoder(self.body_layer(feat)))


# ---------------------------------------------------------------------------
# Stage-2 detector: HRNet + Laplacian pyramid
# ---------------------------------------------------------------------------
class HRNetBranch(nn.Module):
    """``relu(ResBlocks(x))`` (BN, no conv bias), official ``HRNetbranch``.

    Args:
        channels (int): Feature channels.
        num_blocks (int): Residual blocks. Defaults to 3.
    """

    def __init__(self, channels: int, num_blocks: int = 3) -> None:
        super().__init__()
        self.body = _res_layer(num_blocks, channels, 'relu', bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the branch."""
        return F.relu(self.body(x))


class HRNetFuse(nn.Module):
    """Exchange unit between resolutions, official ``HRNetbrachfuse``.

    ``out_i = relu(sum_j T_ij(x_j))`` with ``T_ii`` the identity (stored as
    ``None`` so indices match the official layout), ``T_ij`` for ``j > i`` a
    1x1 conv + BN + nearest upsampling by ``2**(j-i)``, and for ``j < i``
    ``i-j`` stride-2 3x3 conv + BN (ReLU after all but the last).

    Args:
        num_in (int): Number of input branches.
        num_out (int): Number of output branches.
        channels (int): Feature channels of every branch.
    """

    def __init__(self, num_in: int, num_out: int, channels: int) -> None:
        super().__init__()
        c = channels
        rows = []
        for i in range(num_out):
            row = []
            for j in range(num_in):
                if j == i:
                    row.append(None)
                elif j > i:
                    row.append(
                        nn.Sequential(
                            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c),
                            nn.Upsample(
                                scale_factor=2**(j - i), mode='nearest')))
                else:
                    downs = []
                    for k in range(i - j):
                        layers = [
                            nn.Conv2d(c, c, 3, 2, 1, bias=False),
                            nn.BatchNorm2d(c)
                        ]
                        if k < i - j - 1:
                            layers.append(nn.ReLU(True))
                        downs.append(nn.Sequential(*layers))
                    row.append(nn.Sequential(*downs))
            rows.append(nn.ModuleList(row))
        self.fuse_layer_list = nn.ModuleList(rows)

    def forward(self, xs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Fuse a list of branch features (highest resolution first)."""
        outs = []
        for i, row in enumerate(self.fuse_layer_list):
            y = xs[0] if i == 0 else row[0](xs[0])
            for j in range(1, len(xs)):
                y = y + (xs[j] if i == j else row[j](xs[j]))
            outs.append(F.relu(y))
        return outs


class HRNet(nn.Module):
    """Four-resolution HRNet trunk (official ``lmrd.HRNet``).

    Branches are named ``stage{s}_branch{b}`` and exchange units
    ``stage{s}fuse`` / ``outfuse`` as in the official code.

    Args:
        channels (int): Feature channels. Defaults to 32.
    """

    num_stages = 4

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.stage1_branch1 = HRNetBranch(channels)
        for s in range(2, self.num_stages + 1):
            setattr(self, f'stage{s}fuse', HRNetFuse(s - 1, s, channels))
            for b in range(1, s + 1):
                setattr(self, f'stage{s}_branch{b}', HRNetBranch(channels))
        self.outfuse = HRNetFuse(self.num_stages, self.num_stages, channels)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Features at scales 1, 1/2, 1/4, 1/8."""
        feats = [self.stage1_branch1(x)]
        for s in range(2, self.num_stages + 1):
            fused = getattr(self, f'stage{s}fuse')(feats)
            feats = [
                getattr(self, f'stage{s}_branch{b + 1}')(f)
                for b, f in enumerate(fused)
            ]
        return self.outfuse(feats)


class LaplacianBlock(nn.Module):
    """One Laplacian-pyramid level (official ``LAPLACIAN_BLOCK``).

    ``d = relu(x_down_layer(down_x))``, ``xf = relu(x_layer(x))``, and the
    output is ``out_layer(up(xf) - up(d))`` (nearest resize to ``size``),
    returned together with ``d``.

    Args:
        channels (int): Feature channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.x_layer = _res_layer(4, channels, 'relu')
        self.x_down_layer = _res_layer(4, channels, 'relu')
        self.out_layer = _encoder(channels, channels, nn.ReLU())

    def forward(self, x: torch.Tensor, down_x: torch.Tensor,
                size: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(laplacian, relu(x_down_layer(down_x)))``."""
        down = F.relu(self.x_down_layer(down_x))
        feat = F.relu(self.x_layer(x))
        res = (
            F.interpolate(feat, size=size, mode='nearest') -
            F.interpolate(down, size=size, mode='nearest'))
        return self.out_layer(res), down


class LaplacianPyramid(nn.Module):
    """Laplacian-pyramid heads over the HRNet outputs (official ``LPF_Net``).

    Args:
        channels (int): Feature channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lpf_1 = LaplacianBlock(channels)
        self.lpf_2 = LaplacianBlock(channels)
        self.lpf_3 = LaplacianBlock(channels)
        self.fuse1 = _conv3x3(channels, channels)
        self.fuse2 = _conv3x3(channels, channels)

    def forward(self, xs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """Three full-resolution feature maps from four scales."""
        size0, size1, size2 = (tuple(t.shape[-2:]) for t in xs[:3])
        lap1, d1 = self.lpf_1(xs[0], xs[1], size0)
        lap2, d2 = self.lpf_2(d1, xs[2], size1)
        lap3, _ = self.lpf_3(d2, xs[3], size2)
        up2 = F.interpolate(lap2, size=size0, mode='nearest')
        up3 = F.interpolate(lap3, size=size0, mode='nearest')
        return [lap1, self.fuse1(up2 + lap1), self.fuse2(up3 + lap1)]


class RainDetector(nn.Module):
    """Stage-2 rain-location detector (official ``lmrd.RAIN_DETECTION``).

    Args:
        num_masks (int): Number of masks ``K``.
        mid_channels (int): Feature channels. Defaults to 32.
    """

    def __init__(self, num_masks: int, mid_channels: int = 32) -> None:
        super().__init__()
        c = mid_channels
        self.rain_encoder = _encoder(3, c, nn.ReLU(True))
        self.multi_scale_module = HRNet(c)
        self.laplacian_module = LaplacianPyramid(c)
        self.mask_decoder_s = nn.Sequential(
            _conv3x3(3 * c, c), nn.ReLU(True), _conv3x3(c, num_masks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Soft masks (B, K, H, W) in (0, 1); H, W multiples of 8."""
        feats = self.laplacian_module(
            self.multi_scale_module(self.rain_encoder(x)))
        return torch.sigmoid(self.mask_decoder_s(torch.cat(feats, 1)))


# ---------------------------------------------------------------------------
# Rain-intensity estimation
# ---------------------------------------------------------------------------
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


_PREFIXES = ('module.', 'model.')
_STAGE_KEYS = {
    'first': 'rain_detect.input_encoder_rain.0.weight',
    'second': 'rain_detect.rain_encoder.0.weight',
}


def convert_official_dlinet(official: dict) -> tuple:
    """Map a lwcbbd/DLINet_2023TIP ``DLINET`` state dict onto :class:`DLINet`.

    Module names are mirrored, so the mapping is the identity after removing
    ``module.`` (DataParallel) and/or ``model.`` (the EDSR ``Model``
    wrapper) prefixes. The stage, ``K``, ``N`` and the width are read from
    the weights and the key set is checked against a freshly built model.

    Args:
        official (dict): The official state dict.

    Returns:
        tuple[dict, dict]: The :class:`DLINet` state dict and the generator
        arguments (``num_masks``, ``num_msa_blocks``, ``mid_channels``,
        ``stage``).

    Raises:
        KeyError: If the dict is not an official DLINet one (missing or
            unexpected keys).
    """
    sd = {}
    for k, v in official.items():
        while k.startswith(_PREFIXES):
            k = k.split('.', 1)[1]
        sd[k] = v
    stages = [s for s, key in _STAGE_KEYS.items() if key in sd]
    enc = 'rain_estimate.rain_encoder.0.weight'
    if len(stages) != 1 or enc not in sd or (
            'rain_estimate.msa_list.0.rain_encoder.weight' not in sd):
        raise KeyError('not an official DLINet state dict: expected '
                       f"'{enc}' and one of {list(_STAGE_KEYS.values())}, "
                       f'got {list(sd)[:8]}')
    num_blocks = 1 + max(
        int(k.split('.')[2])
        for k in sd if k.startswith('rain_estimate.msa_list.'))
    args = dict(
        num_masks=sd['rain_estimate.msa_list.0.rain_encoder.weight'].shape[0],
        num_msa_blocks=num_blocks,
        mid_channels=sd[enc].shape[0],
        stage=stages[0])
    expected = set(DLINet(**args).state_dict())
    missing, unexpected = expected - set(sd), set(sd) - expected
    if missing or unexpected:
        raise KeyError(
            f'official DLINet dict does not match DLINet({args}): missing '
            f'{sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}')
    return sd, args
