# Copyright (c) mmderain contributors. All rights reserved.
"""Non-official initialisations of VRGNet's rain generator, as ``init_cfg``
entries of :class:`~mmderain.models.editors.vrgnet.VRGNet`.

A VRGNet ``init_cfg`` replaces the official initialisation, so a config
lists ``dict(type='VRGNetOfficialInit', modules=...)`` for the
sub-networks that keep it first, e.g.::

    init_cfg=[
        dict(type='VRGNetOfficialInit',
             modules=('generator', 'rain_encoder')),
        dict(type='VRGNetKaimingInit', modules=('rain_generator', )),
        dict(type='GreyRainInit'),
    ]

Entries run in order (the random draws, and hence the weights for a seed,
are those of the former ``official_init``/``kaiming_init``/``grey_init``
switches).
"""
from typing import Sequence

import torch
import torch.nn as nn

from mmderain.registry import WEIGHT_INITIALIZERS


def vrgnet_kaiming_init(module: nn.Module) -> None:
    """Kaiming-normal initialisation for VRGNet's ReLU networks, to be used
    as ``net.apply(fn)`` in place of the official N(0, 0.02).

    The weight of every ``nn.Conv2d`` / ``nn.ConvTranspose2d`` is drawn with
    ``torch.nn.init.kaiming_normal_(w, nonlinearity='relu')`` (PyTorch's
    ``fan_in`` mode: ``w.size(1) * k * k``, i.e. the number of output
    channels times the kernel area for a transposed convolution) and biases
    are zeroed. With the official N(0, 0.02), the ``z``-dependent part of
    the generator's activations shrinks by about 2.5x per layer (no
    normalisation layers), so its samples hardly depend on ``z`` for a long
    time; with this scale they do at once.

    Args:
        module (nn.Module): The module visited by ``nn.Module.apply``.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.kaiming_normal_(module.weight, nonlinearity='relu')
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def tie_output_channels(generator: nn.Module) -> None:
    """Give the last transposed convolution of a rain generator the same
    filter for its three output channels, so that its rain is grey.

    Real synthetic rain is nearly colourless (Rain100L's rain layers have
    ``chroma`` 0.06, see
    :func:`~mmderain.apis.rain_generation.rain_layer_statistics`), while a
    freshly initialised generator mixes its last features into three
    unrelated channels (``chroma`` ~0.94), and the critic takes thousands of
    iterations to remove that colour. Training is free to untie the channels
    again; only the starting point changes.

    Args:
        generator (nn.Module): A rain generator (any module whose last
            ``nn.ConvTranspose2d`` has 3 output channels).

    Raises:
        ValueError: If ``generator`` has no transposed convolution or the
            last one does not have 3 output channels.
    """
    convs = [
        m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)
    ]
    if not convs or convs[-1].out_channels != 3:
        raise ValueError('tie_output_channels expects a generator whose last '
                         'ConvTranspose2d has 3 output channels')
    last = convs[-1]
    with torch.no_grad():
        # ConvTranspose2d weights are (in_channels, out_channels, k, k)
        last.weight[:, 1:] = last.weight[:, :1]
        if last.bias is not None:
            last.bias[1:] = last.bias[:1]


def _subnetwork(init: object, model: nn.Module, name: str) -> nn.Module:
    net = getattr(model, name, None)
    if not isinstance(net, nn.Module):
        raise ValueError(f'{type(init).__name__}: {type(model).__name__} '
                         f'has no sub-network {name!r}')
    return net


@WEIGHT_INITIALIZERS.register_module()
class VRGNetKaimingInit:
    """:func:`vrgnet_kaiming_init` on named sub-networks of a VRGNet.

    Args:
        modules (Sequence[str]): Sub-network names. Defaults to
            ``('rain_generator', )``.
    """

    def __init__(self, modules: Sequence[str] = ('rain_generator', )):
        self.modules = tuple(modules)

    def __call__(self, model: nn.Module) -> None:
        for name in self.modules:
            _subnetwork(self, model, name).apply(vrgnet_kaiming_init)


@WEIGHT_INITIALIZERS.register_module()
class GreyRainInit:
    """:func:`tie_output_channels` on a VRGNet's rain generator, after the
    entries before it.

    Args:
        module (str): Name of the rain generator. Defaults to
            ``'rain_generator'``.
    """

    def __init__(self, module: str = 'rain_generator'):
        self.module = module

    def __call__(self, model: nn.Module) -> None:
        tie_output_channels(_subnetwork(self, model, self.module))
