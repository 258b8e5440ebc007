# Copyright (c) mmderain contributors. All rights reserved.
"""One optimiser wrapper per named group of a model's sub-modules."""
import copy
import re
from typing import Dict, Optional, Sequence

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
    are prefixed by the sub-module name).

    A group may take only part of a sub-module's parameters with
    ``include`` / ``exclude``: ``{sub-module: regex}``, matched with
    ``re.search`` against parameter names inside that sub-module. CoIC
    splits its derainer this way (the modulation MLPs ``g2pa`` go with the
    encoder)::

        base=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                  modules=('generator', ), exclude=dict(generator='g2pa')),
        tran=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
                  modules=('generator', 'encoder'),
                  include=dict(generator='g2pa'))

    Every trainable parameter must belong to exactly one group.

    Args:
        optim_wrapper_cfg (dict): ``{group name: wrapper config}``; a
            wrapper config may have ``modules`` (sequence of sub-module
            names), ``include`` / ``exclude`` (``{sub-module: regex}``) and
            ``paramwise_cfg``.
        paramwise_cfg (dict, optional): Must be None (give it per group).

    Raises:
        ValueError: If ``paramwise_cfg`` is given, a group is not a dict,
            or a filter names a sub-module outside the group.
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
            filters = {}
            for kind in ('include', 'exclude'):
                spec = dict(cfg.pop(kind, None) or {})
                stray = [m for m in spec if m not in modules]
                if stray:
                    raise ValueError(
                        f'optim_wrapper.{name}.{kind} names {stray}, which '
                        f'are not in its modules {list(modules)}')
                for m, pattern in spec.items():
                    filters.setdefault(m, []).append(
                        (kind == 'include', re.compile(pattern)))
            group_paramwise = cfg.pop('paramwise_cfg', None)
            self.groups[name] = (modules, filters,
                                 DefaultOptimWrapperConstructor(
                                     cfg, group_paramwise))

    @staticmethod
    def _selected(module: nn.Module, rules: list) -> Dict[int, str]:
        """``{id(param): name}`` of the parameters of ``module`` kept by
        the include/exclude ``rules`` (all must hold)."""
        return {
            id(p): n
            for n, p in module.named_parameters() if all(
                bool(rx.search(n)) == keep for keep, rx in rules)
        }

    def __call__(self, module: nn.Module) -> OptimWrapperDict:
        """Build the wrappers for ``module`` (a DDP wrapper is unwrapped).

        Raises:
            KeyError: If a group names a missing sub-module, a parameter
                is in two groups, or a trainable parameter is in none.
        """
        if hasattr(module, 'module'):
            module = module.module
        children = dict(module.named_children())
        owner: Dict[int, str] = {}  # id(param) -> group
        wrappers = {}
        for name, (modules, filters, constructor) in self.groups.items():
            missing = [m for m in modules if m not in children]
            if missing:
                raise KeyError(
                    f'optim_wrapper.{name}: the model has no sub-module '
                    f'{missing} (it has {sorted(children)})')
            keep: Dict[int, str] = {}
            for m in modules:
                selected = self._selected(children[m], filters.get(m, []))
                for pid, pname in selected.items():
                    if pid in owner:
                        raise KeyError(
                            f'parameter {m}.{pname} is in optim_wrapper.'
                            f'{owner[pid]} and optim_wrapper.{name}')
                    owner[pid] = name
                keep.update(selected)
            group = nn.ModuleDict({m: children[m] for m in modules})
            wrapper = constructor(group)
            if filters:  # drop what the filters leave out (no state yet)
                optimizer = wrapper.optimizer
                for pg in optimizer.param_groups:
                    pg['params'] = [p for p in pg['params'] if id(p) in keep]
                optimizer.param_groups[:] = [
                    pg for pg in optimizer.param_groups if pg['params']
                ]
            wrappers[name] = wrapper
        orphans = [
            f'{n}.{pname}' for n, child in children.items()
            for pname, p in child.named_parameters()
            if p.requires_grad and id(p) not in owner
        ]
        if orphans:
            shown = orphans[:5] + (['...'] if len(orphans) > 5 else [])
            raise KeyError(f'{len(orphans)} trainable parameter(s) belong '
                           f'to no optim_wrapper group: {shown}')
        return OptimWrapperDict(**wrappers)
