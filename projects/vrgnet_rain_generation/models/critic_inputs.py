# Copyright (c) mmderain contributors. All rights reserved.
"""Non-official critic inputs of VRGNet: rain layers instead of rainy
images (``critic_input`` of :class:`~mmderain.models.editors.vrgnet.VRGNet`;
the official one is :class:`~mmderain.models.editors.vrgnet.ImageCriticInput`).
"""
from typing import Tuple

import torch

from mmderain.registry import MODELS


@MODELS.register_module()
class RainCriticInput:
    """The critic compares rain layers: the derainer's estimate
    ``max(O - mu_b, 0)`` (no gradient) with ``G(z)``.

    The rain is then not hidden under the background, which the critic
    otherwise has to see through, and the derainer learns from ``KL_b``
    only.
    """

    uses_derainer = True

    def __call__(self, inputs: torch.Tensor, mu_b: torch.Tensor,
                 rain: torch.Tensor,
                 gt: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return (inputs - mu_b.detach()).clamp(min=0), rain


@MODELS.register_module()
class GTRainCriticInput:
    """The critic compares the ground-truth rain layers of synthetic pairs,
    ``max(O - B, 0)``, with ``G(z)``.

    It does not read the derainer's output: with ``train_derainer=False``
    VRGNet does not run the derainer in training (no ``mse`` or ``KL_b`` is
    logged).
    """

    uses_derainer = False

    def __call__(self, inputs: torch.Tensor, mu_b: torch.Tensor,
                 rain: torch.Tensor,
                 gt: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return (inputs - gt).clamp(min=0), rain
