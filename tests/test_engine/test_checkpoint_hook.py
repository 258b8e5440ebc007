# Copyright (c) mmderain contributors. All rights reserved.
"""The default checkpoint hook leaves a checkpoint to resume from."""
import errno
import logging
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR, OneCycleLR
from mmengine.runner import Runner

from mmderain.apis.runner import build_runner
from mmderain.registry import HOOKS
from mmderain.utils import register_all_modules
from tests._helpers import tiny_prenet_cfg, write_pairs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _default_hook_type():
    """The checkpoint hook every mmderain config gets."""
    runtime = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'default_runtime.py'))
    return runtime.default_hooks.checkpoint.type


def _cfg(data, work, name, max_iters=4, **hook):
    """A tiny run with the default checkpoint hook, saving every 2 iters."""
    cfg = tiny_prenet_cfg(data, work, max_iters, name)
    cfg['default_hooks']['checkpoint'] = dict(
        type=_default_hook_type(), interval=2, by_epoch=False, **hook)
    return Config(cfg)


def _checkpoints(work):
    return sorted(n for n in os.listdir(work) if n.endswith('.pth'))


def _pointer(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def test_full_disk_during_save_keeps_the_previous_checkpoint(
        tmp_path, monkeypatch):
    data = write_pairs(tmp_path / 'data')
    work = str(tmp_path / 'work')
    save = Runner.save_checkpoint

    def save_until_disk_full(self, out_dir, filename, *args, **kwargs):
        if filename == 'iter_4.pth':
            raise OSError(errno.ENOSPC, 'No space left on device')
        return save(self, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(Runner, 'save_checkpoint', save_until_disk_full)
    with pytest.raises(OSError, match='No space left'):
        build_runner(_cfg(data, work, 'full', max_keep_ckpts=1)).train()
    monkeypatch.undo()
    # MMEngine removed iter_2.pth before writing iter_4.pth
    assert _checkpoints(work) == ['iter_2.pth']
    assert _pointer(work) == osp.join(work, 'iter_2.pth')

    resumed = build_runner(
        _cfg(data, work, 'after_full', max_keep_ckpts=1), resume=True)
    resumed.train()
    assert resumed.iter == 4
    assert _checkpoints(work) == ['iter_4.pth']
    assert _pointer(work) == osp.join(work, 'iter_4.pth')


class _Lines(logging.Handler):
    """Keeps the messages of a logger."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_stale_tmp_files_are_removed(tmp_path):
    data = write_pairs(tmp_path / 'data')
    work = tmp_path / 'work'
    (work / 'sub').mkdir(parents=True)
    # what kills during atomic writes of a checkpoint and the record leave
    stale = ['.iter_4.pth.k1ll3d0_.tmp', '.last_checkpoint.abcd1234.tmp']
    kept = ['notes.tmp', '.notes.tmp', 'sub/.iter_2.pth.abcd1234.tmp']
    for name in stale + kept:
        (work / name).write_bytes(b'PK\x03\x04partial')

    runner = build_runner(_cfg(data, str(work), 'tmp', max_iters=2))
    lines = _Lines()
    runner.logger.addHandler(lines)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(lines)
    for name in stale:
        assert not (work / name).exists(), name
        assert any(name in line for line in lines.lines), name
    for name in kept:
        assert (work / name).exists(), name


def _lr(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt['optimizer']['param_groups'][0]['lr']


def test_resume_with_raised_max_iters_extends_the_schedule(tmp_path):
    data = write_pairs(tmp_path / 'data')
    # a linear decay over the whole run, as configs write it
    decay = dict(
        type='LinearLR',
        by_epoch=False,
        start_factor=1.0,
        end_factor=0.1,
        begin=0,
        end=4)
    short = _cfg(data, str(tmp_path / 'a'), 'short', max_iters=4)
    short.param_scheduler = decay
    build_runner(short).train()

    # the 4-iteration run, resumed at iter 2 with max_iters raised to 8
    longer = _cfg(data, str(tmp_path / 'b'), 'longer', max_iters=8)
    longer.param_scheduler = decay
    runner = build_runner(longer, resume=str(tmp_path / 'a' / 'iter_2.pth'))
    lines = _Lines()
    runner.logger.addHandler(lines)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(lines)
    lr = {i: _lr(tmp_path / 'b' / f'iter_{i}.pth') for i in (4, 6, 8)}
    # without the extension the lr froze at 1e-4 from iter 4 on
    assert lr[4] > lr[6] > lr[8]
    assert lr[8] == pytest.approx(1e-4, rel=1e-6)
    state = torch.load(
        tmp_path / 'b' / 'iter_8.pth', weights_only=True)['param_schedulers']
    assert state[0]['end'] == 8
    assert any('end 4 -> 8' in line and 'max_iters=8' in line
               for line in lines.lines)


class _FakeRunner:
    """What the checkpoint hook uses of a Runner, with a failing save."""

    def __init__(self, work_dir, name, param_schedulers=None, max_iters=8):
        self.work_dir = str(work_dir)
        self.logger = MMLogger.get_instance(name)
        self.message_hub = MessageHub.get_instance(name)
        self.param_schedulers = param_schedulers
        self.iter = self.epoch = 0
        self.max_iters, self.max_epochs = max_iters, 1
        self.disk_full = False

    def save_checkpoint(self, out_dir, filename, *args, **kwargs):
        if self.disk_full:
            raise OSError(errno.ENOSPC, 'No space left on device')
        torch.save(dict(meta={}, state_dict={}), osp.join(out_dir, filename))


def _hook(**kwargs):
    register_all_modules(init_default_scope=False)
    return HOOKS.build(dict(type=_default_hook_type(), **kwargs))


def test_full_disk_keeps_the_previous_best_checkpoint(tmp_path):
    hook = _hook(interval=1, by_epoch=False, save_best='PSNR', rule='greater')
    runner = _FakeRunner(tmp_path, 'best' + tmp_path.name)
    hook.before_train(runner)
    for step, psnr in ((1, 30.0), (2, 31.0)):
        runner.iter = step
        hook.after_val_epoch(runner, dict(PSNR=psnr))
    assert _checkpoints(tmp_path) == ['best_PSNR_iter_2.pth']

    runner.iter, runner.disk_full = 3, True
    with pytest.raises(OSError, match='No space left'):
        hook.after_val_epoch(runner, dict(PSNR=32.0))
    assert _checkpoints(tmp_path) == ['best_PSNR_iter_2.pth']


def _optimizer():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


def _resume(tmp_path, scheduler, now, old, new, config=None):
    """Resume ``scheduler`` (stepped to ``now`` in a run of ``old`` iters)
    in a run of ``new`` iters; ``config``: the current config's scheduler.
    """
    runner = _FakeRunner(
        tmp_path,
        f'{tmp_path.name}_{now}',
        param_schedulers=[config or scheduler],
        max_iters=new)
    hook = _hook(interval=2, by_epoch=False)
    checkpoint = dict(
        meta=dict(epoch=0, iter=now),
        message_hub=dict(runtime_info=dict(max_iters=old, max_epochs=1)),
        param_schedulers=[scheduler.state_dict()])
    hook.after_load_checkpoint(runner, checkpoint)
    runner.param_schedulers = [scheduler]  # as Runner.resume loads them
    runner.iter = now
    hook.before_train(runner)
    return runner


def _steps(scheduler, n):
    values = []
    for _ in range(n):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.optimizer.param_groups[0]['lr'])
    return values


@pytest.mark.parametrize('config_t_max, t_max', [(None, 8), (6, 6)])
def test_resumed_cosine_follows_raised_max_iters(tmp_path, config_t_max,
                                                 t_max):
    # as the shipped configs write it: T_max = max_iters, no end
    cosine = CosineAnnealingLR(_optimizer(), T_max=4, by_epoch=False)
    _steps(cosine, 2)
    config = None
    if config_t_max is not None:  # the config now says T_max=6
        config = CosineAnnealingLR(
            _optimizer(), T_max=config_t_max, by_epoch=False)
    _resume(tmp_path, cosine, now=2, old=4, new=8, config=config)
    assert cosine.T_max == t_max
    values = _steps(cosine, t_max - 2)
    # it goes down to eta_min=0 at the new T_max, not back up after iter 4
    assert all(a > b for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(0, abs=1e-12)


def test_resume_refuses_a_schedule_it_cannot_extend(tmp_path):
    one_cycle = OneCycleLR(
        _optimizer(), eta_max=1.0, total_steps=4, by_epoch=False)
    _steps(one_cycle, 2)
    with pytest.raises(RuntimeError, match=r'train_cfg\.max_iters=4'):
        _resume(tmp_path, one_cycle, now=2, old=4, new=8)


def test_completed_schedules_and_shorter_runs_are_kept(tmp_path):
    linear = LinearLR(
        _optimizer(), start_factor=1.0, end_factor=0.1, end=4, by_epoch=False)
    _steps(linear, 4)
    # the previous run had completed: the decay stays at its end value
    _resume(tmp_path / 'a', linear, now=4, old=4, new=8)
    assert linear.end == 4
    # a run that was not raised is resumed as saved
    other = LinearLR(
        _optimizer(), start_factor=1.0, end_factor=0.1, end=4, by_epoch=False)
    _steps(other, 2)
    _resume(tmp_path / 'b', other, now=2, old=4, new=4)
    assert other.end == 4
