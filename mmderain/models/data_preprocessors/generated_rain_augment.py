# Copyright (c) mmderain contributors. All rights reserved.
"""Mix generated rainy/clean pairs into training batches (VRGNet "A+")."""
import math
from typing import Tuple

import torch
import torch.nn as nn

from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.structures import DataSample


class GeneratedRainAugment:
    """Replace the rainy half of part of a batch by ``clamp(B + G(z))``.

    VRGNet's augmented training (official ``train_syn_aug.py``): of a batch
    of ``n`` pairs the first ``ceil(n / (1 + fake_ratio))`` stay real; each
    remaining pair keeps its clean patch ``B`` and gets the new rainy input
    ``clamp(B + G(z), 0, 1)`` with a fresh ``z ~ N(0, I)`` (no autograd).
    With ``n = 18`` and ``fake_ratio = 0.5``: 12 real, 6 generated.

    Args:
        rain_generator (nn.Module): A trained rain generator ``G``
            (``latent_dim`` attribute, ``forward(z)`` -> (N, 3, S, S) RGB
            rain layers in [0, 1] image units); frozen here.
        preprocessor (DerainDataPreprocessor): The preprocessor whose
            normalisation and channel order the batches use.
        fake_ratio (float): Generated / real samples. Defaults to 0.5.

    Raises:
        ValueError: If ``fake_ratio`` is negative.
    """

    def __init__(self,
                 rain_generator: nn.Module,
                 preprocessor,
                 fake_ratio: float = 0.5) -> None:
        if fake_ratio < 0:
            raise ValueError(f'fake_ratio must be >= 0, got {fake_ratio}')
        self.rain_generator = rain_generator.eval().requires_grad_(False)
        self.preprocessor = preprocessor
        self.fake_ratio = fake_ratio

    def num_real(self, batch_size: int) -> int:
        """Real samples kept in a batch of ``batch_size``."""
        return math.ceil(batch_size / (1 + self.fake_ratio))

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor,
                 data_samples: DataSample) -> Tuple[torch.Tensor, DataSample]:
        """Augment a preprocessed training batch.

        Args:
            inputs (Tensor): Normalised rainy inputs (N, 3, H, W).
            data_samples (DataSample): Stacked samples with ``gt_img``.

        Returns:
            tuple[Tensor, DataSample]: The new inputs and the samples.
        """
        n = inputs.shape[0]
        n_real = self.num_real(n)
        if n_real >= n:
            return inputs, data_samples
        gen = self.rain_generator
        gen.to(inputs.device)
        pre = self.preprocessor
        clean = pre.to_unit_range(data_samples.gt_img[n_real:])
        z = torch.randn(n - n_real, gen.latent_dim, device=inputs.device)
        rain = gen(z).to(clean.dtype)
        if rain.shape[-2:] != clean.shape[-2:]:
            raise ValueError(
                f'the rain generator makes {tuple(rain.shape[-2:])} layers '
                f'but the training patches are {tuple(clean.shape[-2:])}: '
                'crop patches of the generator size')
        if str(pre.output_channel_order).upper() == 'BGR':
            rain = rain.flip(1)  # the generator works in RGB
        inputs = inputs.clone()
        inputs[n_real:] = pre.from_unit_range((clean + rain).clamp(0., 1.))
        return inputs, data_samples
