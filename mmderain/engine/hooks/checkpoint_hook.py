# Copyright (c) mmderain contributors. All rights reserved.
"""MMEngine's ``CheckpointHook`` made safe against kills and full disks."""
import os.path as osp
from typing import Iterator, Optional, Tuple

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
# yapf: disable
from mmengine.optim.scheduler import (ConstantParamScheduler,
                                      CosineAnnealingParamScheduler,
                                      ExponentialParamScheduler,
                                      LinearParamScheduler,
                                      MultiStepParamScheduler,
                                      PolyParamScheduler,
                                      ReduceOnPlateauParamScheduler,
                                      StepParamScheduler, _ParamScheduler)
# yapf: enable
from mmengine.optim.scheduler.param_scheduler import INF

from mmderain.registry import HOOKS
from mmderain.utils.checkpoint import AtomicLocalBackend
from ..resume import remove_stale_tmp_files

# schedulers whose length is ``end`` (and ``T_max``/``total_iters``) only
_EXTENSIBLE = (ConstantParamScheduler, CosineAnnealingParamScheduler,
               ExponentialParamScheduler, LinearParamScheduler,
               MultiStepParamScheduler, PolyParamScheduler,
               ReduceOnPlateauParamScheduler, StepParamScheduler)


class _DeferredRemovals:
    """A file backend whose ``remove``/``rmtree`` calls are only recorded.

    Everything else is passed to the wrapped backend.
    """

    def __init__(self, backend) -> None:
        self.backend = backend
        self.pending = []

    def remove(self, path) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path) -> None:
        self.pending.append(('rmtree', path))

    def __getattr__(self, name):
        return getattr(self.backend, name)


def _schedulers(param_schedulers) -> Iterator[Tuple[str, _ParamScheduler]]:
    """Built schedulers of a runner, named as in the config, e.g.
    ``param_scheduler[0]`` or ``param_scheduler['generator'][0]``."""
    if isinstance(param_schedulers, dict):
        groups = [(f'[{key!r}]', value)
                  for key, value in param_schedulers.items()]
    else:
        groups = [('', param_schedulers)]
    for prefix, group in groups:
        if not isinstance(group, (list, tuple)):
            continue
        for i, scheduler in enumerate(group):
            if isinstance(scheduler, _ParamScheduler):
                yield f'param_scheduler{prefix}[{i}]', scheduler


def _set_total_iters(scheduler: _ParamScheduler, total_iters: int) -> None:
    """Lengthen a scheduler with ``total_iters`` mid-schedule.

    A ``LinearParamScheduler`` computes each value from the previous one as
    if it had always had ``total_iters`` steps, so it is re-anchored:
    ``start_factor`` is chosen so that its line passes through the current
    factor at the current step and still reaches ``end_factor`` at the new
    end (without this, it would end below ``end_factor``). ``Poly`` and
    ``Constant`` need no change.
    """
    step, old_total = scheduler.last_step, scheduler.total_iters
    if isinstance(scheduler, LinearParamScheduler) and 0 <= step <= \
            old_total and old_total > 0 and total_iters > step:
        start, end = scheduler.start_factor, scheduler.end_factor
        current = start + (end - start) * step / old_total
        scheduler.start_factor = ((current * total_iters - end * step) /
                                  (total_iters - step))
    scheduler.total_iters = total_iters


def _schedule_length(scheduler: _ParamScheduler) -> Optional[int]:
    """Where the schedule of a ``OneCycle``/``CosineRestart`` scheduler
    without ``end`` ends, or None."""
    if hasattr(scheduler, 'total_steps'):
        return scheduler.begin + scheduler.total_steps
    if hasattr(scheduler, 'periods'):
        return scheduler.begin + sum(scheduler.periods)
    return None


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that always leaves a checkpoint to resume from.

    Takes the arguments of MMEngine's ``CheckpointHook`` and differs in
    four ways:

    * **Rotation.** With ``max_keep_ckpts``, MMEngine removes the oldest
      checkpoint before writing the new one, so with ``max_keep_ckpts=1`` a
      kill or a full disk in between leaves nothing to resume. Here outdated
      checkpoints (and a replaced best checkpoint) are removed only after the
      new file is written and ``last_checkpoint`` names it.
    * **Resume record.** ``<work_dir>/last_checkpoint`` is written atomically
      (:class:`mmderain.utils.AtomicLocalBackend`), not with a plain
      ``open(..., 'w')`` that a kill can leave empty.
    * **Leftovers.** Before training, the hidden ``.<name>.XXXXXXXX.tmp``
      files of interrupted atomic writes are removed from the work dir and
      the checkpoint folder (main process only), with a log line each.
    * **Raised run length.** A resumed scheduler restores its ``end`` (and
      ``T_max``) from the checkpoint, so after raising ``max_iters`` (or
      ``max_epochs``) one that ended with the previous run would freeze the
      learning rate at its end value for the rest of the new run (a cosine
      without ``end`` would climb back instead). When a
      resumed run is longer than the run that saved the checkpoint, each
      scheduler still in progress whose ``end`` (or ``begin + T_max`` of a
      cosine without ``end``) equals the previous run length is extended to
      the new length, or to the config's larger value if the config now sets
      one, and the change is logged as a warning with the numbers. The value
      continues from where it is and reaches the schedule's final value
      (``eta_min``, ``end_factor``) at the new end.
      Schedulers that cannot be extended (``OneCycle``, ``CosineRestart``)
      stop the run with an error saying what to set. Schedules that had
      already completed are resumed as saved.
    """

    _resumed: Optional[dict] = None

    def before_train(self, runner) -> None:
        """Set up as MMEngine does, remove leftovers of killed writes and
        extend resumed schedulers to a raised run length.

        Args:
            runner (Runner): The runner of the training process.

        Raises:
            RuntimeError: If a resumed scheduler that ends with the previous
                run cannot be extended to the new run length.
        """
        super().before_train(runner)
        if is_main_process():
            folders = {osp.abspath(runner.work_dir), osp.abspath(self.out_dir)}
            for folder in sorted(folders):
                remove_stale_tmp_files(folder)
        self._extend_resumed_schedulers(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Note the run length and step the checkpoint was saved at, and the
        schedule lengths of the config (the schedulers are not loaded yet).

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        self._resumed = None
        meta = checkpoint.get('meta') or {}
        hub = checkpoint.get('message_hub')
        info = (hub.get('runtime_info')
                if isinstance(hub, dict) else None) or {}
        if 'param_schedulers' not in checkpoint or not meta.get('iter'):
            return
        self._resumed = dict(
            iter=meta['iter'],
            epoch=meta.get('epoch'),
            max_iters=info.get('max_iters'),
            max_epochs=info.get('max_epochs'),
            config={
                label: (s.end, getattr(s, 'T_max', None))
                for label, s in _schedulers(runner.param_schedulers)
            })

    def _extend_resumed_schedulers(self, runner) -> None:
        """Extend resumed schedulers that ended with the previous run."""
        state, self._resumed = self._resumed, None
        if state is None or (runner.iter, runner.epoch) != (state['iter'],
                                                            state['epoch']):
            return  # nothing resumed (a load_from only loads weights)
        for label, scheduler in _schedulers(runner.param_schedulers):
            unit = 'epoch' if scheduler.by_epoch else 'iter'
            old = state[f'max_{unit}s']
            new = getattr(runner, f'max_{unit}s')
            if old is None or new <= old:
                continue
            t_max = getattr(scheduler, 'T_max', None)
            extend_end = scheduler.end == old
            extend_t_max = (
                t_max is not None and scheduler.begin + t_max == old
                and (extend_end or scheduler.end >= INF))
            if not (extend_end or extend_t_max
                    or _schedule_length(scheduler) == old):
                continue
            name = f'{label} ({type(scheduler).__name__})'
            now = getattr(runner, unit)
            if now >= old:
                runner.logger.info(
                    f'{name} completed its schedule when the previous run '
                    f'ended ({unit} {old}); it is resumed as saved.')
                continue
            if not isinstance(scheduler, _EXTENSIBLE):
                raise RuntimeError(
                    f'{name} ends at {unit} {old}, with the previous run '
                    f'(max_{unit}s={old}), and cannot be extended to this '
                    f'run\'s max_{unit}s={new}. Resume with '
                    f'train_cfg.max_{unit}s={old}, or start a new run from '
                    'the checkpoint (load_from=<checkpoint>, no --resume) '
                    f'with a schedule for {new} {unit}s.')
            config_end, config_t_max = state['config'].get(label, (None, None))
            changes = []
            if extend_end:
                end = (
                    config_end if config_end is not None
                    and old < config_end < INF else new)
                changes.append(f'end {scheduler.end} -> {end}')
                scheduler.end = end
                if hasattr(scheduler, 'total_iters'):
                    _set_total_iters(scheduler, end - scheduler.begin - 1)
            if extend_t_max:
                new_t_max = (
                    config_t_max if config_t_max is not None
                    and config_t_max > t_max else new - scheduler.begin)
                changes.append(f'T_max {t_max} -> {new_t_max}')
                scheduler.T_max = new_t_max
            values = ', '.join(f'{group[scheduler.param_name]:.4g}'
                               for group in scheduler.optimizer.param_groups)
            runner.logger.warning(
                f'{name} ended at {unit} {old} with the previous run '
                f'(max_{unit}s={old}); extended for this run (max_{unit}s='
                f'{new}): {", ".join(changes)}. The {scheduler.param_name} '
                f'continues from {values} at {unit} {now}. To keep the old '
                f'schedule, resume with train_cfg.max_{unit}s={old}.')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save the checkpoint ``step``, update ``last_checkpoint``
        atomically, then remove the checkpoints beyond ``max_keep_ckpts``.

        Args:
            runner (Runner): The runner of the training process.
            step (int): The epoch or iteration of the checkpoint.
            meta (dict): Meta information saved in the checkpoint.
        """
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            # _save_checkpoint and _save_best_checkpoint may both save `step`
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        # sharded (model parallel) saves gather on every rank; the rest is
        # the main process's
        if not is_main_process():
            return
        AtomicLocalBackend().put_text(
            str(self.last_ckpt), osp.join(runner.work_dir, 'last_checkpoint'))
        for old_step in outdated:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                # checkpoints saved by deepspeed are directories
                self.file_backend.rmtree(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Save a new best checkpoint as MMEngine does, but remove the
        replaced best (and outdated) checkpoints only once it is written.

        Args:
            runner (Runner): The runner of the training process.
            metrics (dict): Evaluation results of all metrics.
        """
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        for method, path in deferred.pending:
            getattr(backend, method)(path)
