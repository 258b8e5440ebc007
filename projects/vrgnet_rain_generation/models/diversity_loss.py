# Copyright (c) mmderain contributors. All rights reserved.
"""Diversity-sensitive regulariser for generators that ignore their code.

Not part of VRGNet (project ``vrgnet_rain_generation``). Yang et al.,
*Diversity-Sensitive Conditional Generative Adversarial Networks* (ICLR
2019), maximise

    min(mean |G(z1) - G(z2)| / mean |z1 - z2|, tau)

so that a generator cannot map every code to the same output (mode
collapse); the clip ``tau`` stops it from buying diversity with ever larger
outputs once the outputs differ as much as they should.

With ``normalize=True`` every output is first divided by its mean
magnitude, so that outputs which differ only in strength (the same pattern,
brighter or fainter) count as equal: the ratio then measures differences
in *where* the output is bright.

:class:`DiversitySensitiveLoss` is the term as an extra generator-side loss
of :class:`~mmderain.models.editors.vrgnet.VRGNet`
(``extra_generator_losses``).
"""
import torch
import torch.nn as nn

from mmderain.registry import MODELS

#: Smallest mean magnitude an output is divided by with ``normalize=True``,
#: so that near-zero outputs do not blow the ratio up.
NORMALIZE_FLOOR = 1e-3


def _normalized(outputs: torch.Tensor) -> torch.Tensor:
    scale = outputs.abs().flatten(1).mean(1).clamp(min=NORMALIZE_FLOOR)
    return outputs / scale.view(-1, *([1] * (outputs.dim() - 1)))


def diversity_ratio(outputs: torch.Tensor,
                    codes: torch.Tensor,
                    normalize: bool = False) -> torch.Tensor:
    """How much outputs differ per unit of code difference.

    The batch is split in halves, and sample ``i`` of the first half is
    compared with sample ``i`` of the second.

    Args:
        outputs (Tensor): Generated samples (B, ...), B >= 2.
        codes (Tensor): The codes they came from (B, D).
        normalize (bool): Divide each output by its mean magnitude (at
            least :data:`NORMALIZE_FLOOR`) first. Defaults to False.

    Returns:
        Tensor: ``mean |out_a - out_b| / mean |z_a - z_b|``, a scalar.

    Raises:
        ValueError: If the batch has fewer than 2 samples, or ``outputs``
            and ``codes`` differ in batch size.
    """
    num = outputs.shape[0]
    if num < 2 or codes.shape[0] != num:
        raise ValueError(
            'diversity_ratio needs >= 2 outputs and as many codes, got '
            f'{num} outputs and {codes.shape[0]} codes')
    if normalize:
        outputs = _normalized(outputs)
    half = num // 2
    out_gap = (outputs[:half] - outputs[half:2 * half]).abs().mean()
    code_gap = (codes[:half] - codes[half:2 * half]).abs().mean()
    return out_gap / code_gap.clamp(min=1e-8)


def diversity_sensitive_loss(outputs: torch.Tensor,
                             codes: torch.Tensor,
                             tau: float,
                             normalize: bool = False) -> torch.Tensor:
    """``-min(diversity_ratio(outputs, codes), tau)``: to be minimised.

    Args:
        outputs (Tensor): Generated samples (B, ...), B >= 2.
        codes (Tensor): The codes they came from (B, D).
        tau (float): Clip of the ratio (> 0); above it the loss has no
            gradient.
        normalize (bool): As in :func:`diversity_ratio`. Defaults to False.

    Returns:
        Tensor: The scalar loss, in ``[-tau, 0]``.

    Raises:
        ValueError: If ``tau`` is not positive (and as
            :func:`diversity_ratio`).
    """
    if tau <= 0:
        raise ValueError(f'tau must be > 0, got {tau}')
    return -diversity_ratio(outputs, codes, normalize).clamp(max=tau)


@MODELS.register_module()
class DiversitySensitiveLoss(nn.Module):
    """The diversity-sensitive term as a VRGNet generator-side loss.

    Returns ``loss_weight * -min(diversity_ratio(rain, z), tau)``. The codes
    enter without gradient, so that the encoder cannot raise the ratio by
    moving codes closer together.

    Args:
        loss_weight (float): Weight of the term (> 0). Defaults to 1.
        tau (float): Clip of the ratio (> 0). Defaults to 0.035, about the
            ratio of real Rain100L rain layers: two 64x64 layers
            ``max(O - B, 0)`` differ by 0.041 on average, two N(0, I) codes
            by 2 / sqrt(pi) = 1.13.
        normalize (bool): Divide each rain layer by its mean first
            (:func:`diversity_ratio`), so that layers that differ only in
            strength count as equal. Real Rain100L rain layers then give a
            ratio of about 1.49 (use ``tau`` 1.4). Defaults to False.
        loss_name (str): Name under which VRGNet logs the (weighted) term.
            Defaults to ``'loss_div'``.

    Raises:
        ValueError: If ``loss_weight`` or ``tau`` is not positive.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 tau: float = 0.035,
                 normalize: bool = False,
                 loss_name: str = 'loss_div') -> None:
        super().__init__()
        if loss_weight <= 0 or tau <= 0:
            raise ValueError('loss_weight and tau must be > 0, got '
                             f'{loss_weight} and {tau}')
        self.loss_weight = loss_weight
        self.tau = tau
        self.normalize = normalize
        self.loss_name = loss_name

    def forward(self, rain: torch.Tensor, z: torch.Tensor,
                **kwargs) -> torch.Tensor:
        """The weighted term for one generator-side step.

        Args:
            rain (Tensor): Rain layers ``G(z)`` (B, 3, S, S), B >= 2.
            z (Tensor): Their codes (B, latent_dim).
            **kwargs: Other inputs VRGNet passes; unused.

        Returns:
            Tensor: The scalar loss, in ``[-loss_weight * tau, 0]``.
        """
        return self.loss_weight * diversity_sensitive_loss(
            rain, z.detach(), self.tau, self.normalize)
