# Copyright (c) mmderain contributors. All rights reserved.
"""DLINet's rain-location detectors and the blocks they share.

Stage 1 trains :class:`JointRainDetector` (it also sees the clean image and
binarises its masks with a straight-through estimator); stage 2 trains the
deployed :class:`RainDetector` (HRNet, Laplacian-pyramid heads, sigmoid).
See :mod:`.dlinet_net` for the whole network and its conventions.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


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
