# Copyright (c) mmderain contributors. All rights reserved.
"""Base of derainers with their own training step over several optimisers."""
from contextlib import contextmanager
from typing import Dict, Iterator, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn

from .base_derainer import BaseDerainer


class MultiOptimDerainer(BaseDerainer):
    """A derainer whose ``train_step`` updates several networks, each with
    its own optimiser wrapper.

    A subclass declares the wrappers (the keys of the
    :class:`~mmengine.optim.OptimWrapperDict` the runner builds from the
    config's ``optim_wrapper``) and how a config provides them::

        optim_wrapper_names = ('generator', 'critic')
        optim_wrapper_help = ("GroupedOptimWrapperConstructor with groups "
                              "'generator' and 'critic'")

    and writes ``train_step(data, optim_wrapper)`` with the helpers here:
    :meth:`check_optim_wrappers` first (a clear error instead of a
    ``KeyError`` half-way through an iteration), :meth:`current_step` for
    schedules (warm-ups, one generator step every ``n`` critic steps),
    :meth:`no_param_grad` around a loss that must not reach a network (the
    critic in the generator step) and :meth:`update_wrappers` (or one
    wrapper's ``update_params``) after each backward pass. The config pairs it
    with ``optim_wrapper=dict(constructor='GroupedOptimWrapperConstructor',
    <name>=dict(type='OptimWrapper', optimizer=..., modules=...), ...)``
    and, for ``tools/dist_train.sh``, ``model_wrapper_cfg=dict(type=
    'MMSeparateDistributedDataParallel')``. Everything else (the
    :class:`BaseDerainer` contract: ``derain_tensor``, ``forward_tensor``,
    ``forward_inference``, ...) is inherited, so inference, tests and the
    tools treat it like any derainer. ``docs/adding_a_method.md`` walks
    through an example.
    """

    #: Names of the optimiser wrappers ``train_step`` uses.
    optim_wrapper_names: Tuple[str, ...] = ()
    #: How a config provides them (shown when some are missing).
    optim_wrapper_help: str = ''

    def check_optim_wrappers(self,
                             optim_wrapper: Mapping[str, OptimWrapper],
                             names: Optional[Sequence[str]] = None) -> None:
        """Fail clearly unless ``optim_wrapper`` has the named wrappers.

        Args:
            optim_wrapper (OptimWrapperDict): What the runner passes to
                ``train_step``.
            names (Sequence[str], optional): The wrappers this step needs
                (e.g. fewer when an option freezes a network). Defaults to
                :attr:`optim_wrapper_names`.

        Raises:
            TypeError: If a single optimiser wrapper is given.
            KeyError: Naming the missing wrappers, the given ones and
                :attr:`optim_wrapper_help`.
        """
        names = tuple(self.optim_wrapper_names if names is None else names)
        help_ = self.optim_wrapper_help or (
            "optim_wrapper=dict(constructor='GroupedOptimWrapperConstructor'"
            f', ...) with groups {list(names)}')
        name = type(self).__name__
        if (isinstance(optim_wrapper, OptimWrapper)
                and not isinstance(optim_wrapper, OptimWrapperDict)):
            raise TypeError(
                f'{name} trains with several optimizers and needs optimizer '
                f'wrappers {list(names)}, got a single OptimWrapper: use '
                f'{help_}')
        missing = [n for n in names if n not in optim_wrapper]
        if missing:
            raise KeyError(
                f'{name} needs optimizer wrappers {missing} (given: '
                f'{list(optim_wrapper.keys())}): use {help_}')

    @staticmethod
    def update_wrappers(optim_wrapper: Mapping[str, OptimWrapper],
                        names: Sequence[str], loss: torch.Tensor) -> None:
        """One backward pass of ``loss``, then step and zero the named
        wrappers in order.

        For a loss that feeds several networks with their own optimisers
        (VRGNet's derainer, rain encoder and generator; CoIC's backbone and
        modulation). The first wrapper runs the backward pass.

        Args:
            optim_wrapper (OptimWrapperDict): The wrappers.
            names (Sequence[str]): Those to step, at least one.
            loss (Tensor): The scalar loss.
        """
        if not names:
            raise ValueError('update_wrappers needs at least one wrapper')
        wrappers = [optim_wrapper[n] for n in names]
        wrappers[0].backward(loss)
        for ow in wrappers:
            ow.step()
            ow.zero_grad()

    @staticmethod
    @contextmanager
    def no_param_grad(*modules: nn.Module) -> Iterator[None]:
        """Switch off the gradients of the modules' trainable parameters
        inside the block (e.g. the critic while the generator's adversarial
        loss goes through it), so that no gradient is computed for them or
        left behind for their next step; switched back on afterwards.

        Args:
            *modules (nn.Module): The networks.
        """
        params = [
            p for m in modules for p in m.parameters() if p.requires_grad
        ]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One training iteration; each method writes its own.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapperDict): The wrappers of
                :attr:`optim_wrapper_names`.

        Returns:
            dict[str, Tensor]: Logged values.
        """
        raise NotImplementedError(
            f'{type(self).__name__} derives from MultiOptimDerainer and must '
            'implement train_step')
