# Copyright (c) mmderain contributors. All rights reserved.
"""The ResNet backbone of Rain2Avoid (R2A).

Re-implementation of ``Rain2Avoid(Single)/network.py``, class ``ResNet``
(official code: ytpeng-aimlab/Rain2Avoid-Self-Supervised-Single-Image-
Deraining-with-Non-local-Stochastic-Sampling), one of ``sdrl.py``'s
``--backbone`` choices:

* encoder: torchvision's ``resnet18`` trunk, randomly initialised (never
  pretrained weights): ``x1 = relu(bn1(conv1(x)))`` (64 channels, 1/2),
  ``x2 = layer1(maxpool(x1))`` (64, 1/4), ``x3 = layer2(x2)`` (128, 1/8),
  ``x4 = layer3(x3)`` (256, 1/16), ``x5 = layer4(x4)`` (512, 1/32);
* decoder: transposed convolutions (kernel 4, stride 2, padding 1, with
  bias) with ReLU and additive skips:
  ``y = x4 + relu(up1(x5))``, ``y = x3 + relu(up2(y))``,
  ``y = x2 + relu(up3(y))``, ``y = x1 + relu(up4(y))``, output
  ``up5(y)`` (3 channels, no activation, no global residual).

The official module also holds torchvision's classifier (``fc``, 513,000
parameters) that its forward never uses; it is left out here: 13,998,147
parameters instead of the official 14,511,147. To start from the
official initial weights under the same seed, the whole torchvision
network (``fc`` included, which draws from the random generator) is
created before the decoder, as officially.

State-dict keys follow torchvision for the encoder (``conv1.*``, ``bn1.*``,
``layer1.*`` .. ``layer4.*``) and are ``up1.*`` .. ``up5.*`` for the
decoder; :mod:`mmderain.models.converters.rain2avoid` maps the official
keys (``down*``, ``up*.main.0.*``). H and W must be multiples of 32.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS
from .r2a_unet import check_spatial_size

#: Encoder modules taken from torchvision's ``resnet18``, in order.
ENCODER_MODULES = ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2',
                   'layer3', 'layer4')
#: (input, output) channels of the decoder's ``up1`` .. ``up5``.
DECODER_CHANNELS = ((512, 256), (256, 128), (128, 64), (64, 64), (64, 3))


@MODELS.register_module()
class R2AResNet(nn.Module):
    """Rain2Avoid's ResNet-18 encoder-decoder (see the module docstring).

    Only RGB images (3 channels in and out), as officially.

    Attributes:
        size_divisor (int): H and W must be multiples of it (32).
    """

    #: H and W must be multiples of this (five stride-2 levels).
    size_divisor = 32
    in_channels = 3

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import resnet18

        # the whole network (fc included) draws from the random generator
        # in the official order; never pretrained weights, no download
        trunk = resnet18(weights=None)
        for name in ENCODER_MODULES:
            self.add_module(name, getattr(trunk, name))
        for k, (cin, cout) in enumerate(DECODER_CHANNELS, 1):
            self.add_module(
                f'up{k}',
                nn.ConvTranspose2d(
                    cin, cout, 4, stride=2, padding=1, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Derain a batch.

        Args:
            x (Tensor): Rainy images (N, 3, H, W), RGB in [0, 1], H and W
                multiples of :attr:`size_divisor`.

        Returns:
            Tensor: The derained images, same shape (not clamped).

        Raises:
            ValueError: If the shape is not (N, 3, H, W) with H and W
                multiples of 32.
        """
        check_spatial_size('R2AResNet', x, self.in_channels, self.size_divisor)
        x1 = self.relu(self.bn1(self.conv1(x)))
        x2 = self.layer1(self.maxpool(x1))
        x3 = self.layer2(x2)
        x4 = self.layer3(x3)
        x5 = self.layer4(x4)
        y = x5
        for up, skip in ((self.up1, x4), (self.up2, x3), (self.up3, x2),
                         (self.up4, x1)):
            y = skip + F.relu(up(y), inplace=True)
        return self.up5(y)
