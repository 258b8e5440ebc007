# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC's encoder E and its MoCo-style momentum pair.

Re-implementation of ``FeatureExtract`` and ``MoCo`` of CoIC's
``models/contrastive.py`` (Ran et al., ICLR 2024, ``Schizophreni/CoIC``;
the encoder follows AirNet's). Module and parameter names mirror the
official ones, so an official ``*_enc.pth`` / ``feat_epoch_*.pth``
(``MoCo.state_dict()``: ``encoder_q.*``, ``encoder_k.*``) loads into
:class:`MomentumEncoder` with ``load_state_dict`` directly.

Encoder (``FeatureExtract(3, 32, 128)``, 1,257,664 parameters)::

    conv1     Conv(3 -> 32, 3x3, bias), no activation
    resblock  3 x ResBlock(c -> 2c, stride 2): 32 -> 64 -> 128 -> 256, /8
    feature   L2-normalised (over channels) map (B, 256, h/8, w/8)
    code      L2-normalised mlp(GAP(map)): Linear(256, 128), LeakyReLU(0.1),
              Linear(128, 128)
"""
import copy
from typing import NamedTuple, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS
from .coic_contrastive_loss import contrastive_logits


class CoICEncoderOutput(NamedTuple):
    """Output of :class:`CoICEncoder`, official order ``(out_z, out_feature)``.

    Attributes:
        code (Tensor): L2-normalised code ``z`` (B, code_dim).
        feature (Tensor): Feature map L2-normalised over the channels
            (B, 8 * mid_channels, h/8, w/8), used by the contrastive loss.
    """
    code: torch.Tensor
    feature: torch.Tensor


class CoICResBlock(nn.Module):
    """Strided residual block of the encoder (official ``ResBlock``).

    ``LeakyReLU_0.1(block(x) + short_cut(x))`` with ``block`` = Conv3x3
    (stride, no bias), BN, LeakyReLU(0.1), Conv3x3 (bias), BN and
    ``short_cut`` = Conv1x1 (stride, no bias), BN.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first convolution and the shortcut.
            Defaults to 2.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 2) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(
                in_channels, out_channels, 3, stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1),
            nn.BatchNorm2d(out_channels))
        self.short_cut = nn.Sequential(
            nn.Conv2d(
                in_channels, out_channels, 1, stride, padding=0, bias=False),
            nn.BatchNorm2d(out_channels))
        self.relu = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C_out, ceil(H/s), ceil(W/s))."""
        return self.relu(self.block(x) + self.short_cut(x))


@MODELS.register_module()
class CoICEncoder(nn.Module):
    """CoIC's rain-/detail-aware encoder E (official ``FeatureExtract``).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        mid_channels (int): Width of the first convolution; the blocks
            double it three times. Defaults to 32.
        code_dim (int): Dimension of the code ``z``. Defaults to 128.
    """

    def __init__(self,
                 in_channels: int = 3,
                 mid_channels: int = 32,
                 code_dim: int = 128) -> None:
        super().__init__()
        c = mid_channels
        self.conv1 = nn.Conv2d(in_channels, c, 3, 1, 1, bias=True)
        self.resblock = nn.Sequential(
            CoICResBlock(c, c * 2), CoICResBlock(c * 2, c * 4),
            CoICResBlock(c * 4, c * 8))
        self.mlp = nn.Sequential(
            nn.Linear(c * 8, code_dim), nn.LeakyReLU(0.1, True),
            nn.Linear(code_dim, code_dim))
        self.code_dim = code_dim

    def forward(self, x: torch.Tensor) -> CoICEncoderOutput:
        """Encode images.

        Args:
            x (Tensor): RGB images in [0, 1] (B, 3, H, W) (officially the
                whole image resized to the crop size, 128 at test time).

        Returns:
            CoICEncoderOutput: ``(code, feature)``, both L2-normalised.
        """
        if x.dim() != 4:
            raise ValueError('CoICEncoder expects images (B, C, H, W), got '
                             f'{tuple(x.shape)}')
        feat = self.resblock(self.conv1(x))
        z = self.mlp(F.adaptive_avg_pool2d(feat, 1).flatten(1))
        return CoICEncoderOutput(
            F.normalize(z, dim=-1), F.normalize(feat, dim=1))


@MODELS.register_module()
class MomentumEncoder(nn.Module):
    """Query encoder and its momentum (EMA) key copy (official ``MoCo``).

    ``encoder_k`` starts as a copy of ``encoder_q``, is never trained by
    gradients, and follows ``theta_k <- m * theta_k + (1 - m) * theta_q``
    (parameters only; its BatchNorm statistics come from its own
    train-mode passes), updated before every key computation.

    Training (:meth:`forward`, official ``MoCo.forward``)::

        sims, z = enc(im_q, im_k, im_negs)  # sims (B, 1 + N), z (B, D)
        loss = contrastive_loss(sims)       # CoICContrastiveLoss
        with modulation_code(backbone, z):  # z carries gradients to E
            out = backbone(x)

    Test (official ``test_model.py``): ``enc.eval()``, then
    ``z = enc.key_code(images)`` (the *key* encoder, whole image resized to
    128 x 128).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        mid_channels (int): Encoder width. Defaults to 32.
        code_dim (int): Code dimension. Defaults to 128.
        momentum (float): EMA momentum ``m``. Defaults to 0.999.
    """

    def __init__(self,
                 in_channels: int = 3,
                 mid_channels: int = 32,
                 code_dim: int = 128,
                 momentum: float = 0.999) -> None:
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f'momentum must be in [0, 1], got {momentum}')
        self.momentum = momentum
        self.code_dim = code_dim
        self.encoder_q = CoICEncoder(in_channels, mid_channels, code_dim)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for p in self.encoder_k.parameters():
            p.requires_grad = False

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``theta_k <- m * theta_k + (1 - m) * theta_q`` (parameters)."""
        m = self.momentum
        for p_q, p_k in zip(self.encoder_q.parameters(),
                            self.encoder_k.parameters()):
            p_k.copy_(p_k * m + p_q.detach() * (1.0 - m))

    def features(
        self, im_q: torch.Tensor, im_k: torch.Tensor, im_negs: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Feature maps of the query, the positive key and the negatives.

        As the official ``MoCo.forward``: ``encoder_q(im_q)`` with
        gradients; then, without gradients, the momentum update and ONE
        ``encoder_k`` pass over ``cat([im_k, negatives])`` (BatchNorm in the
        module's mode, i.e. batch statistics over all ``B * (1 + N)`` images
        in training).

        Args:
            im_q (Tensor): Queries (B, 3, h, w).
            im_k (Tensor): Positive keys (B, 3, h, w).
            im_negs (Tensor): Negatives (B, N, 3, h, w).

        Returns:
            tuple[Tensor]: ``(q_feat, k_feat, neg_feat, z_q)``: (B, C, h',
            w'), (B, C, h', w'), (B, N, C, h', w') and the query code
            (B, code_dim); only ``q_feat`` and ``z_q`` carry gradients.

        Raises:
            ValueError: If the shapes do not match.
        """
        if (im_q.dim() != 4 or im_k.shape != im_q.shape or im_negs.dim() != 5
                or im_negs.shape[0] != im_q.shape[0]
                or im_negs.shape[2:] != im_q.shape[1:]):
            raise ValueError(
                'MomentumEncoder expects im_q and im_k (B, C, h, w) and '
                f'im_negs (B, N, C, h, w), got {tuple(im_q.shape)}, '
                f'{tuple(im_k.shape)} and {tuple(im_negs.shape)}')
        b, n = im_negs.shape[:2]
        z_q, q_feat = self.encoder_q(im_q)
        z_q = F.normalize(z_q, dim=1)  # (again, as officially)
        with torch.no_grad():
            self.momentum_update()
            _, kn_feat = self.encoder_k(
                torch.cat([im_k, im_negs.flatten(0, 1)], dim=0))
            kn_feat = F.normalize(kn_feat, dim=1)
            k_feat = kn_feat[:b]
            neg_feat = kn_feat[b:].view(b, n, *kn_feat.shape[1:])
        return q_feat, k_feat, neg_feat, z_q

    def forward(self, im_q: torch.Tensor, im_k: torch.Tensor,
                im_negs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Similarities for the contrastive loss and the query code.

        Args:
            im_q (Tensor): Queries (B, 3, h, w).
            im_k (Tensor): Positive keys (B, 3, h, w).
            im_negs (Tensor): Negatives (B, N, 3, h, w).

        Returns:
            tuple[Tensor, Tensor]: Mean per-pixel cosine similarities
            ``[l_pos, l_neg...]`` (B, 1 + N), i.e. the official logits
            before the temperature (:class:`CoICContrastiveLoss` divides),
            and the query code ``z_q`` (B, code_dim).
        """
        q_feat, k_feat, neg_feat, z_q = self.features(im_q, im_k, im_negs)
        return contrastive_logits(q_feat, k_feat, neg_feat), z_q

    def key_code(self, images: torch.Tensor) -> torch.Tensor:
        """Code of ``images`` from the key encoder (official test-time code).

        Args:
            images (Tensor): (B, 3, h, w), officially resized to 128 x 128.

        Returns:
            Tensor: ``z`` (B, code_dim).
        """
        return self.encoder_k(images).code

    def query_code(self, images: torch.Tensor) -> torch.Tensor:
        """Code of ``images`` from the query encoder (with gradients)."""
        return self.encoder_q(images).code
