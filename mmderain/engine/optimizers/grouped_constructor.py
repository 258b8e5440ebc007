# Copyright (c) mmderain contributors. All rights reserved.
"""One optimiser wrapper per named group of a model's sub-modules."""
import copy
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from mmderain.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GroupedOptimWrapperConstructor:
    """Build an :class:`OptimWrapperDict` with one wrapper per group.

    MMEngine's ``MultiOptimWrapperConstructor`` gives every top-level
    sub-module its own optimiser. Here a wrapper may own several
    sub-modules, as when one optimiser updates networks that are stored
    separately (VRGNet's rain encoder and generator: one Adam officially)::

        optim_wrapper = dict(
            constructor='GroupedOptimWrapperConstructor',
            generator=dict(type='OptimWrapper',
                           optimizer=dict(type='Adam', lr=2e-4)),
            rain=dict(type='OptimWrapper',
                      optimizer=dict(type='Adam', lr=1e-4),
                      modules=('rain_encoder', 'rain_generator')),
            critic=dict(type='OptimWrapper',
                        optimizer=dict(type='Adam', lr=4e-4)))

    A group without ``modules`` owns the sub-module of its own name. Each
    group is built by MMEngine's ``DefaultOptimWrapperConstructor`` on its
    sub-modules (``paramwise_cfg`` per group is honoured; parameter names
    are prefixed by the sub-module name). Every sub-module with parameters
    must belong to exactly one group.

    Args:
        optim_wrapper_cfg (dict): ``{group name: wrapper config}``; a
            wrapper config may have ``modules`` (sequence of sub-module
            names) and ``paramwise_cfg``.
        paramwise_cfg (dict, optional): Must be None (give it per group).

    Raises:
        ValueError: If ``paramwise_cfg`` is given, or a group is not a
            dict.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('GroupedOptimWrapperConstructor: give '
                             'paramwise_cfg inside each group')
        self.groups = {}
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict):
                raise ValueError(f'optim_wrapper.{name} must be a dict (an '
                                 f'optimizer wrapper config), got {cfg!r}')
            cfg = copy.deepcopy(dict(cfg))
            modules: Sequence[str] = tuple(cfg.pop('modules', (name, )))
            group_paramwise = cfg.pop('paramwise_cfg', None)
            self.groups[name] = (modules,
                                 DefaultOptimWrapperConstructor(
                                     cfg, group_paramwise))

    def __call__(self, module: nn.Module) -> OptimWrapperDict:
        """Build the wrappers for ``module`` (a DDP wrapper is unwrapped).

        Raises:
            KeyError: If a group names a missing sub-module, a sub-module
                is in two groups, or a sub-module with trainable parameters
                is in none.
        """
        if hasattr(module, 'module'):
            module = module.module
        children = dict(module.named_children())
        owner = {}
        wrappers = {}
        for name, (modules, constructor) in self.groups.items():
            missing = [m for m in modules if m not in children]
            if missing:
                raise KeyError(
                    f'optim_wrapper.{name}: the model has no sub-module '
                    f'{missing} (it has {sorted(children)})')
            for m in modules:
                if m in owner:
                    raise KeyError(f'sub-module {m!r} is in optim_wrapper.'
                                   f'{owner[m]} and optim_wrapper.{name}')
                owner[m] = name
            group = nn.ModuleDict({m: children[m] for m in modules})
            wrappers[name] = constructor(group)
        orphans = [
            n for n, child in children.items() if n not in owner and any(
                p.requires_grad for p in child.parameters())
        ]
        if orphans:
            raise KeyError(f'sub-modules {orphans} have trainable parameters '
                           'but no optim_wrapper group')
        return OptimWrapperDict(**wrappers)
