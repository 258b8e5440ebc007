# Copyright (c) mmderain contributors. All rights reserved.
"""A small patch critic: one realness score per receptive field."""
import torch
from torch import nn

from mmderain.registry import MODELS


@MODELS.register_module()
class ExamplePatchCritic(nn.Module):
    """Two stride-2 convolutions and a 3x3 scoring convolution.

    Args:
        in_channels (int): Image channels. Defaults to 3.
        base_channels (int): Channels of the first convolution (doubled by
            the second). Defaults to 32.
    """

    def __init__(self, in_channels: int = 3, base_channels: int = 32) -> None:
        super().__init__()
        c = base_channels
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * c, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores (N, 1, H/4, W/4) of images (N, C, H, W); higher: real."""
        return self.body(x)
