# Copyright (c) mmderain contributors. All rights reserved.
"""DnCNN as Rain2Avoid uses it.

The plain convolutional network of *Beyond a Gaussian Denoiser: Residual
Learning of Deep CNN for Image Denoising* (Zhang et al., TIP 2017), in the
form of Rain2Avoid's ``Rain2Avoid(Single)/network.py``, class ``DnCNN``
(official code: ytpeng-aimlab/Rain2Avoid-Self-Supervised-Single-Image-
Deraining-with-Non-local-Stochastic-Sampling), one of ``sdrl.py``'s
``--backbone`` choices:

* ``num_layers`` 3x3 convolutions, none with bias: the first
  (``in_channels -> mid_channels``) followed by ReLU, ``num_layers - 2``
  middle ones (``mid_channels -> mid_channels``) each followed by batch
  norm and ReLU, the last one ``mid_channels -> in_channels``;
* the output is the image itself: unlike the original DnCNN, which
  predicts the noise and subtracts it, there is **no residual**.

With the official 17 layers and 64 channels: 558,336 parameters. Any
spatial size works. State-dict keys: ``layers.<i>.*`` with the official
indices (``dncnn.<i>.*`` officially): convolutions at 0, 3k - 1
(k = 1 .. num_layers - 2) and ``3 * num_layers - 4``, batch norms at
3k. The layers are created in the official order with PyTorch's default
initialisation, so under the same seed this module starts from the
official weights.
"""
import torch
import torch.nn as nn

from mmderain.registry import MODELS


@MODELS.register_module()
class DnCNN(nn.Module):
    """DnCNN without the residual subtraction (see the module docstring).

    Args:
        in_channels (int): Image channels (input and output). Defaults
            to 3.
        num_layers (int): Convolutions, at least 2. Defaults to 17.
        mid_channels (int): Feature channels. Defaults to 64.

    Attributes:
        size_divisor (int): 1: any H and W.
    """

    #: Any spatial size.
    size_divisor = 1

    def __init__(self,
                 in_channels: int = 3,
                 num_layers: int = 17,
                 mid_channels: int = 64) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f'num_layers must be >= 2, got {num_layers}')
        if in_channels < 1 or mid_channels < 1:
            raise ValueError('in_channels and mid_channels must be >= 1, got '
                             f'{in_channels} and {mid_channels}')
        self.in_channels = in_channels

        def conv(cin: int, cout: int) -> nn.Conv2d:
            return nn.Conv2d(cin, cout, 3, padding=1, bias=False)

        layers = [conv(in_channels, mid_channels), nn.ReLU(inplace=True)]
        for _ in range(num_layers - 2):
            layers += [
                conv(mid_channels, mid_channels),
                nn.BatchNorm2d(mid_channels),
                nn.ReLU(inplace=True)
            ]
        layers.append(conv(mid_channels, in_channels))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Derain (or denoise) a batch.

        Args:
            x (Tensor): Images (N, ``in_channels``, H, W), any H and W.

        Returns:
            Tensor: The restored images, same shape (not clamped).

        Raises:
            ValueError: If ``x`` is not (N, ``in_channels``, H, W).
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'DnCNN expects images (N, {self.in_channels}, '
                             f'H, W), got {tuple(x.shape)}')
        return self.layers(x)
