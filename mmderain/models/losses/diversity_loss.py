# Copyright (c) mmderain contributors. All rights reserved.
"""Diversity-sensitive regulariser for generators that ignore their code.

Not part of VRGNet. Yang et al., *Diversity-Sensitive Conditional
Generative Adversarial Networks* (ICLR 2019), maximise

    min(mean |G(z1) - G(z2)| / mean |z1 - z2|, tau)

so that a generator cannot map every code to the same output (mode
collapse); the clip ``tau`` stops it from buying diversity with ever larger
outputs once the outputs differ as much as they should.
"""
import torch


def diversity_ratio(outputs: torch.Tensor,
                    codes: torch.Tensor) -> torch.Tensor:
    """How much outputs differ per unit of code difference.

    The batch is split in halves, and sample ``i`` of the first half is
    compared with sample ``i`` of the second.

    Args:
        outputs (Tensor): Generated samples (B, ...), B >= 2.
        codes (Tensor): The codes they came from (B, D).

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
    half = num // 2
    out_gap = (outputs[:half] - outputs[half:2 * half]).abs().mean()
    code_gap = (codes[:half] - codes[half:2 * half]).abs().mean()
    return out_gap / code_gap.clamp(min=1e-8)


def diversity_sensitive_loss(outputs: torch.Tensor, codes: torch.Tensor,
                             tau: float) -> torch.Tensor:
    """``-min(diversity_ratio(outputs, codes), tau)``: to be minimised.

    Args:
        outputs (Tensor): Generated samples (B, ...), B >= 2.
        codes (Tensor): The codes they came from (B, D).
        tau (float): Clip of the ratio (> 0); above it the loss has no
            gradient.

    Returns:
        Tensor: The scalar loss, in ``[-tau, 0]``.

    Raises:
        ValueError: If ``tau`` is not positive (and as
            :func:`diversity_ratio`).
    """
    if tau <= 0:
        raise ValueError(f'tau must be > 0, got {tau}')
    return -diversity_ratio(outputs, codes).clamp(max=tau)
