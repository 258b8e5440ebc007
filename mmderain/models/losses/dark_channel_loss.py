# Copyright (c) mmderain contributors. All rights reserved.
"""Dark-channel prior loss (SSID-KD's ``Loss/ECLoss.DCLoss``)."""
import torch
import torch.nn as nn

from mmderain.ops import max_filter, min_filter
from mmderain.registry import MODELS


@MODELS.register_module()
class DarkChannelLoss(nn.Module):
    """Sum (or mean) of the dark channel of the prediction.

    The dark channel of an image is its minimum over the channels and a
    ``P x P`` window around each pixel (He et al.); clear images have a dark
    channel near 0, rain streaks raise it. Both modes compute the minimum
    with :func:`mmderain.ops.max_filter` / :func:`~mmderain.ops.min_filter`
    (separable running minimum, ``O(1)`` per pixel instead of max pooling's
    ``O(3 P^2)``; values equal to max pooling's and CPU gradients bit for bit,
    ties included).

    ``mode='official'`` is SSID-KD's term ``DCLoss((x + 1) / 2, P)``
    (``Loss/ECLoss.py``, called so in ``train_*_real.py``)::

        dc = MaxPool3d((3, P, P), stride=1, padding=(0, P // 2, P // 2))(
            1 - ((x + 1) / 2)[:, None])
        loss = -L1Loss(reduction='sum')(dc, 0) = -sum |dc|

    with max pooling's ``-inf`` padding (a border window is clipped to the
    image), an output of ``(H + 1) x (W + 1)`` for an even ``P`` and the
    ``(x + 1) / 2`` mapping, all kept: values and CPU gradients are those of
    the official function (``sign(0) = 0`` of the absolute value
    included). It needs 3 channels (the 3-deep kernel). It equals ``sum
    dark((x + 1) / 2) - #outputs`` for ``x`` in [-1, 1].

    ``mode='corrected'`` is the loss the official one intends, for data in
    [0, 1] (SSID-KD's data are in [0, 1]; the spec, section 3.9, bug 7)::

        loss = sum dark(x),  dark = min over channels and a (2 (P // 2) + 1)
                                     square window, +inf padding

    What is corrected: (1) no ``(x + 1) / 2`` mapping (it assumes [-1, 1]
    data; on [0, 1] data it halves the gradient and maps the dark channel
    into [0.5, 1]); (2) an odd window centred on each pixel (``P + 1``
    for an even ``P``: the official padding ``P // 2`` on each side), so the
    output has the input's size instead of one row and column more (an even
    window is off-centre by half a pixel); (3) the value is the dark channel
    itself (0 for a perfect result), not ``-sum |1 - dark|``, which differs
    by a constant and flips its gradient where the prediction exceeds 1;
    (4) any number of channels. Values outside [0, 1] are not clamped.

    Magnitudes (official mode, batch 2 at 128 x 128, P = 128): there are
    2 x 129 x 129 = 33 282 outputs, each at most 1 for ``x`` in [-1, 1], so
    ``1e-6 * loss`` lies in [-3.3e-2, 0]; an input with a value of -1 in
    every window (as an untrained network's output has) gives exactly
    -33 282, i.e. the -3.3e-2 the spec measured (section 3.4), against 1.05
    for ``20 * L1``. On [0, 1] data each output is at most 0.5.

    Args:
        loss_weight (float): Multiplier of the loss (SSID-KD: 1e-6).
            Defaults to 1.0.
        patch_size (int): Window size ``P`` (SSID-KD: 128). Defaults to 128.
        mode (str): ``'official'`` or ``'corrected'`` (see above).
            Defaults to ``'official'``.
        reduction (str): ``'sum'`` (official), ``'mean'`` (over the outputs)
            or ``'none'`` (the (N, 1, Ho, Wo) map of the summed terms).
            Defaults to ``'sum'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 patch_size: int = 128,
                 mode: str = 'official',
                 reduction: str = 'sum') -> None:
        super().__init__()
        if mode not in ('official', 'corrected'):
            raise ValueError("mode must be 'official' or 'corrected', got "
                             f'{mode!r}')
        if reduction not in ('sum', 'mean', 'none'):
            raise ValueError("reduction must be 'sum', 'mean' or 'none', "
                             f'got {reduction!r}')
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError('patch_size must be a positive int, got '
                             f'{patch_size!r}')
        self.loss_weight = loss_weight
        self.patch_size = patch_size
        self.mode = mode
        self.reduction = reduction

    def forward(self, pred: torch.Tensor, **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted images (N, C, H, W); C = 3 in the
                official mode.

        Returns:
            Tensor: The weighted loss (a scalar, or (N, 1, Ho, Wo) with
            ``reduction='none'``).

        Raises:
            ValueError: If the official mode gets other than 3 channels.
        """
        p = self.patch_size
        if self.mode == 'official':
            if pred.dim() != 4 or pred.shape[1] != 3:
                raise ValueError(
                    'DarkChannelLoss(mode="official") needs (N, 3, H, W) '
                    f'images (a 3-deep max-pooling kernel), got '
                    f'{tuple(pred.shape)}')
            # 1 - dark((x + 1) / 2); |.| as L1Loss(dc, 0); negated below
            terms = max_filter(1 - (pred + 1) / 2, p, p // 2, True).abs()
        else:
            terms = min_filter(pred, 2 * (p // 2) + 1, p // 2, True)
        if self.reduction == 'sum':
            loss = terms.sum()
        elif self.reduction == 'mean':
            loss = terms.mean()
        else:
            loss = terms
        if self.mode == 'official':
            loss = -loss
        return self.loss_weight * loss

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(loss_weight={self.loss_weight}, '
                f'patch_size={self.patch_size}, mode={self.mode!r}, '
                f'reduction={self.reduction!r})')
