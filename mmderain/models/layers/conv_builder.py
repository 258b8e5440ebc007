# Copyright (c) mmderain contributors. All rights reserved.
"""Build the 2-D convolutions of a backbone from a config.

Backbones that may be modulated (CoIC) create every convolution through
:func:`build_conv2d`, so that one ``conv_cfg`` switches all of them from
``nn.Conv2d`` to a modulated layer such as
:class:`~mmderain.models.layers.CoIMConv2d`, without a second copy of the
network.
"""
from typing import Optional

import torch.nn as nn

from mmderain.registry import MODELS


def build_conv2d(conv_cfg: Optional[dict], in_channels: int, out_channels: int,
                 kernel_size: int, **kwargs) -> nn.Module:
    """Build a 2-D convolution.

    Args:
        conv_cfg (dict, optional): ``None`` or ``dict(type='Conv2d')`` for a
            plain ``nn.Conv2d``; otherwise the config of a registered layer
            with ``nn.Conv2d``'s signature (extra keys, e.g. ``code_dim``,
            are passed on), e.g. ``dict(type='CoIMConv2d', code_dim=128)``.
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Kernel size.
        **kwargs: ``stride``, ``padding``, ``dilation``, ``groups``,
            ``bias`` as for ``nn.Conv2d``.

    Returns:
        nn.Module: The convolution.

    Raises:
        TypeError: If ``conv_cfg`` is not a dict with a ``type`` key.
    """
    if conv_cfg is None:
        return nn.Conv2d(in_channels, out_channels, kernel_size, **kwargs)
    if not isinstance(conv_cfg, dict) or 'type' not in conv_cfg:
        raise TypeError("conv_cfg must be None or a dict with a 'type' key, "
                        f'got {conv_cfg!r}')
    if conv_cfg['type'] in ('Conv2d', 'nn.Conv2d'):
        extra = {k: v for k, v in conv_cfg.items() if k != 'type'}
        return nn.Conv2d(in_channels, out_channels, kernel_size, **extra,
                         **kwargs)
    cfg = dict(conv_cfg)
    cfg.update(
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=kernel_size,
        **kwargs)
    return MODELS.build(cfg)
