# Copyright (c) mmderain contributors. All rights reserved.
"""Stop training on a non-finite loss; never save non-finite weights."""
import math
from typing import Dict, Iterator, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from mmderain.registry import HOOKS
from mmderain.utils.safe_loading import non_finite_keys

_GUARD_ATTR = '_mmderain_step_guard'


class NonFiniteLossError(FloatingPointError):
    """Training produced a non-finite loss (or gradient) too often."""


def _named_wrappers(optim_wrapper) -> Iterator[Tuple[str, OptimWrapper]]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        yield from optim_wrapper.items()
    elif isinstance(optim_wrapper, OptimWrapper):
        yield 'optimizer', optim_wrapper


def request_step_skip(optim_wrapper, reason: str) -> bool:
    """Skip this iteration's optimizer steps (a recipe's skip rule).

    For recipes that skip a batch on purpose (DGUNet when its output
    explodes, DLINet on a loss far above the last epoch's mean): call it
    before ``backward``; every optimizer of the model then skips its step
    in this iteration and :class:`NonFiniteLossHook` logs the reason.
    Requested skips do not count towards ``max_skips``.

    Args:
        optim_wrapper (OptimWrapper | OptimWrapperDict): The wrapper(s)
            passed to ``train_step``.
        reason (str): Why, for the log.

    Returns:
        bool: False when no :class:`NonFiniteLossHook` guards the wrappers
        (the step then happens as usual).
    """
    for _, wrapper in _named_wrappers(optim_wrapper):
        guard = getattr(wrapper, _GUARD_ATTR, None)
        if guard is not None:
            guard.skip(reason, counts=False)
            return True
    return False


def _grads_finite(wrapper: OptimWrapper) -> bool:
    grads = [
        p.grad for group in wrapper.optimizer.param_groups
        for p in group['params'] if p.grad is not None
    ]
    if not grads:
        return True
    norms = torch._foreach_norm(grads)
    return bool(torch.isfinite(torch.stack(norms)).all())


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Skip optimizer steps on a non-finite loss; stop when it persists.

    Before training, every optimizer wrapper of the runner is guarded:

    * ``backward(loss)`` with a NaN or infinite loss runs no backward pass
      and marks the iteration as skipped;
    * ``step()`` of a skipped iteration does nothing (gradients are
      zeroed), so no optimizer of the model is updated with it; plain
      (non-AMP) wrappers also skip when a gradient is not finite (AMP's
      loss scaler already does);
    * after ``max_skips`` consecutive skipped iterations, the next one
      raises :class:`NonFiniteLossError` with the iteration, the logged
      losses and what to change. The weights were never updated with a
      non-finite value, so the last checkpoint is usable.

    Recipes that skip batches on purpose call :func:`request_step_skip`:
    the same mechanism, logged, but not counted towards ``max_skips``.
    Independently, a checkpoint whose weights are not finite is never
    written (``before_save_checkpoint`` raises).

    Args:
        max_skips (int): Consecutive non-finite iterations that are skipped
            before training stops. Defaults to 0 (stop at the first).
    """

    priority = 'VERY_HIGH'

    def __init__(self, max_skips: int = 0) -> None:
        if not isinstance(max_skips, int) or max_skips < 0:
            raise ValueError('max_skips must be a non-negative int, got '
                             f'{max_skips!r}')
        self.max_skips = max_skips
        self.consecutive = 0
        self.skipped = 0
        self._reason: Optional[str] = None
        self._counts = False

    # ------------------------------------------------------------------
    def skip(self, reason: str, counts: bool = True) -> None:
        """Mark the current iteration as skipped (first reason wins)."""
        if self._reason is None:
            self._reason = reason
        self._counts = self._counts or counts

    def _guard(self, name: str, wrapper: OptimWrapper) -> None:
        if getattr(wrapper, _GUARD_ATTR, None) is self:
            return
        backward, step = wrapper.backward, wrapper.step
        check_grads = not isinstance(wrapper, AmpOptimWrapper)

        def guarded_backward(loss: torch.Tensor, **kwargs):
            if not bool(torch.isfinite(loss.detach()).all()):
                self.skip(f'the loss is {loss.detach().float().sum().item()}')
                return None
            if self._reason is not None:
                return None
            return backward(loss, **kwargs)

        def guarded_step(**kwargs):
            if self._reason is None and check_grads \
                    and not _grads_finite(wrapper):
                self.skip(f'a gradient of optimizer {name!r} is not finite')
            if self._reason is not None:
                wrapper.zero_grad()
                return None
            return step(**kwargs)

        wrapper.backward = guarded_backward
        wrapper.step = guarded_step
        setattr(wrapper, _GUARD_ATTR, self)

    def before_train(self, runner) -> None:
        for name, wrapper in _named_wrappers(runner.optim_wrapper):
            self._guard(name, wrapper)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None):
        self._reason, self._counts = None, False

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        bad_logs = _non_finite_logs(outputs)
        if self._reason is None and bad_logs:
            # a loss that bypassed the wrappers (logged, not optimised)
            self.skip(f'logged values are not finite ({bad_logs})')
        if self._reason is None:
            self.consecutive = 0
            return
        reason, counts = self._reason, self._counts
        self._reason, self._counts = None, False
        self.skipped += 1
        it = runner.iter + 1
        if not counts:
            runner.logger.info(f'Iteration {it}: optimizer step skipped '
                               f'({reason}).')
            return
        self.consecutive += 1
        detail = f' ({bad_logs})' if bad_logs else ''
        if self.consecutive > self.max_skips:
            raise NonFiniteLossError(
                f'Training stopped at iteration {it}: {reason}{detail} in '
                f'{self.consecutive} iteration(s) in a row (allowed: '
                f'default_hooks.nonfinite.max_skips={self.max_skips}). No '
                'optimizer was updated with it, so the last checkpoint is '
                'finite. Lower the learning rate, clip gradients '
                '(optim_wrapper.clip_grad=dict(max_norm=...)) or allow '
                'skips (--cfg-options default_hooks.nonfinite.max_skips=N).')
        runner.logger.warning(
            f'Iteration {it}: optimizer step skipped: {reason}{detail} '
            f'({self.consecutive} of at most {self.max_skips} in a row).')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = non_finite_keys(checkpoint.get('state_dict', {}))
        if bad:
            raise NonFiniteLossError(
                f'Refusing to save a checkpoint at iteration {runner.iter}: '
                f'{len(bad)} weight tensors hold NaN or infinity '
                f'({", ".join(bad[:5])}). Training stopped; resume from the '
                'last checkpoint with a lower learning rate.')


def _non_finite_logs(outputs: Optional[Dict]) -> str:
    if not isinstance(outputs, dict):
        return ''
    bad = []
    for key, value in outputs.items():
        if torch.is_tensor(value):
            if value.numel() and not bool(torch.isfinite(value).all()):
                bad.append(f'{key}: {value.float().mean().item()}')
        elif isinstance(value, float) and not math.isfinite(value):
            bad.append(f'{key}: {value}')
    return ', '.join(bad)
