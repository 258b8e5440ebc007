# Copyright (c) mmderain contributors. All rights reserved.
"""Plain derainer backbones, one file each (trained by ``BaseDerainer``)."""
from .brn import BRN
from .dncnn import DnCNN
from .prenet import PReNet
from .r2a_resnet import R2AResNet
from .r2a_unet import R2AUNet

__all__ = ['BRN', 'DnCNN', 'PReNet', 'R2AResNet', 'R2AUNet']
