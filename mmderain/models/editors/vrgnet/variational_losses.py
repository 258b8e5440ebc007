# Copyright (c) mmderain contributors. All rights reserved.
"""KL terms of VRGNet's variational objective (element means, as coded).

VRGNet (Wang et al., CVPR 2021) models the clean background ``B`` and the
rain latent ``z`` with diagonal Gaussian posteriors. Its official code
averages both KL divergences over *elements* (not sums), and clamps the
log-variances to ``[log 1e-8, log 1e4]`` first; the functions below do the
same (the clamp is not in place, with the same gradient).
"""
import math
from typing import Tuple

import torch

#: Official clamp range of the predicted log-variances.
LOGVAR_RANGE: Tuple[float, float] = (math.log(1e-8), math.log(1e4))


def clamp_logvar(
        logvar: torch.Tensor,
        logvar_range: Tuple[float, float] = LOGVAR_RANGE) -> torch.Tensor:
    """Clamp log-variances to ``logvar_range`` (gradient 0 outside)."""
    return logvar.clamp(min=logvar_range[0], max=logvar_range[1])


def gaussian_kl_to_target(
        mu: torch.Tensor,
        logvar: torch.Tensor,
        target: torch.Tensor,
        prior_var: float = 1e-6,
        logvar_range: Tuple[float, float] = LOGVAR_RANGE) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(target, prior_var))``, element mean.

    VRGNet's ``KL_b``: the posterior of the background predicted by the
    derainer against a tight prior around the ground truth::

        0.5 * mean[(mu - target)^2 / eps2 + var / eps2 - 1 - log(var / eps2)]

    The first term is ``0.5 / eps2 * MSE``, i.e. a strongly weighted MSE.

    Args:
        mu (Tensor): Posterior means.
        logvar (Tensor): Posterior log-variances (same shape; clamped).
        target (Tensor): Prior means (the clean image).
        prior_var (float): Prior variance ``eps2``. Defaults to 1e-6.
        logvar_range (tuple[float, float]): Clamp range of ``logvar``.

    Returns:
        Tensor: The scalar KL term.
    """
    logvar = clamp_logvar(logvar, logvar_range)
    ratio = torch.exp(logvar) / prior_var
    return 0.5 * torch.mean((mu - target)**2 / prior_var +
                            (ratio - 1 - torch.log(ratio)))


def standard_normal_kl(
        mu: torch.Tensor,
        logvar: torch.Tensor,
        logvar_range: Tuple[float, float] = LOGVAR_RANGE) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))``, element mean (VRGNet's KL_z).

    ``0.5 * mean[mu^2 + var - 1 - logvar]``.

    Args:
        mu (Tensor): Posterior means of the latent, (B, D).
        logvar (Tensor): Posterior log-variances (clamped), (B, D).
        logvar_range (tuple[float, float]): Clamp range of ``logvar``.

    Returns:
        Tensor: The scalar KL term.
    """
    logvar = clamp_logvar(logvar, logvar_range)
    return 0.5 * torch.mean(mu**2 + (torch.exp(logvar) - 1 - logvar))
