# Copyright (c) mmderain contributors. All rights reserved.
import pytest
import torch.nn as nn

from mmderain.models.layers import build_conv2d


def test_build_conv2d_plain():
    conv = build_conv2d(None, 3, 8, 3, padding=1, bias=False)
    assert type(conv) is nn.Conv2d
    assert conv.weight.shape == (8, 3, 3, 3) and conv.bias is None
    conv = build_conv2d(dict(type='Conv2d'), 3, 8, 1)
    assert type(conv) is nn.Conv2d and conv.kernel_size == (1, 1)


def test_build_conv2d_bad_cfg():
    with pytest.raises(TypeError, match='conv_cfg'):
        build_conv2d('CoIMConv2d', 3, 8, 3)
