# Copyright (c) mmderain contributors. All rights reserved.
"""A non-finite loss stops training; non-finite weights are never saved.

Issue 19, item 3: before, ``lr=1e3`` gave NaN losses from iteration 2, and
training ran to the end, saved all-NaN checkpoints and exited 0.
"""
import glob
import json
import os.path as osp
import types

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict

from mmderain.engine.hooks import (NonFiniteLossError, NonFiniteLossHook,
                                   request_step_skip)
from mmderain.utils.safe_loading import load_checkpoint_file, non_finite_keys
from tests._helpers import run_tool, tiny_prenet_cfg, write_pairs


def _runner(wrappers, it=0):
    logs = []
    logger = types.SimpleNamespace(info=logs.append, warning=logs.append)
    return types.SimpleNamespace(
        optim_wrapper=wrappers, iter=it, logger=logger, logs=logs)


def _wrapper(param):
    return OptimWrapper(torch.optim.SGD([param], lr=0.1))


def _iteration(hook, runner, wrapper_list, loss_value, param):
    """One train_step: backward on the first wrapper, step on all."""
    hook.before_train_iter(runner, 0)
    loss = (param * loss_value).sum()
    wrapper_list[0].backward(loss)
    for w in wrapper_list:
        w.step()
        w.zero_grad()
    hook.after_train_iter(runner, 0, outputs=dict(loss=loss.detach()))
    runner.iter += 1


def test_nan_loss_updates_no_optimizer_and_stops():
    p1 = torch.nn.Parameter(torch.ones(3))
    p2 = torch.nn.Parameter(torch.ones(3))
    wrappers = OptimWrapperDict(a=_wrapper(p1), b=_wrapper(p2))
    hook = NonFiniteLossHook(max_skips=1)
    runner = _runner(wrappers)
    hook.before_train(runner)
    _iteration(hook, runner, [wrappers['a'], wrappers['b']], 1.0, p1)
    assert p1.detach().tolist() == pytest.approx([0.9] * 3)
    before = (p1.detach().clone(), p2.detach().clone())
    _iteration(hook, runner, [wrappers['a'], wrappers['b']], float('nan'),
               p1)  # skipped (1 of 1 allowed)
    assert torch.equal(p1.detach(), before[0])
    assert torch.equal(p2.detach(), before[1])
    assert 'skipped' in runner.logs[-1]
    _iteration(hook, runner, [wrappers['a'], wrappers['b']], 1.0, p1)
    assert hook.consecutive == 0  # a good step resets the count
    _iteration(hook, runner, [wrappers['a'], wrappers['b']], float('inf'), p1)
    with pytest.raises(NonFiniteLossError, match='iteration 5.*max_skips=1'):
        _iteration(hook, runner, [wrappers['a'], wrappers['b']], float('nan'),
                   p1)
    assert bool(torch.isfinite(p1).all())


def test_non_finite_gradient_with_finite_loss_is_skipped():
    p = torch.nn.Parameter(torch.zeros(2))
    wrapper = _wrapper(p)
    hook = NonFiniteLossHook()
    runner = _runner(wrapper)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    wrapper.update_params(torch.sqrt(p).sum())  # d sqrt(x)/dx at 0 = inf
    assert torch.equal(p.detach(), torch.zeros(2))
    with pytest.raises(NonFiniteLossError, match='gradient.*optimizer'):
        hook.after_train_iter(runner, 0, outputs={})


def test_requested_skip_is_logged_not_counted():
    p = torch.nn.Parameter(torch.ones(2))
    wrapper = _wrapper(p)
    hook = NonFiniteLossHook(max_skips=0)
    runner = _runner(wrapper)
    assert not request_step_skip(wrapper, 'unguarded')
    hook.before_train(runner)
    for _ in range(3):
        hook.before_train_iter(runner, 0)
        assert request_step_skip(wrapper, 'output exploded')
        wrapper.update_params(p.sum())
        hook.after_train_iter(runner, 0, outputs={})
    assert torch.equal(p.detach(), torch.ones(2))
    assert hook.skipped == 3 and hook.consecutive == 0
    assert 'output exploded' in runner.logs[-1]


def test_non_finite_weights_are_never_saved():
    hook = NonFiniteLossHook()
    runner = _runner(None, it=7)
    hook.before_save_checkpoint(runner, dict(state_dict={'w': torch.ones(2)}))
    with pytest.raises(NonFiniteLossError, match='Refusing to save.*w'):
        hook.before_save_checkpoint(
            runner, dict(state_dict={'w': torch.tensor([1., float('nan')])}))


def test_divergent_training_stops_with_finite_checkpoints(tmp_path):
    """The issue's reproduction through tools/train.py: a learning rate
    that makes the loss NaN at iteration 2."""
    data = write_pairs(tmp_path / 'data')
    cfg = Config(tiny_prenet_cfg(data, str(tmp_path / 'unused'), 12))
    cfg.pop('work_dir')
    cfg.optim_wrapper.optimizer.lr = 1e30
    cfg.model.pixel_loss = dict(type='MSELoss')
    cfg.default_hooks.checkpoint.interval = 1
    cfg_path = str(tmp_path / 'diverge.py')
    cfg.dump(cfg_path)
    work = str(tmp_path / 'work')
    with pytest.raises(SystemExit, match='stopped at iteration 2: the loss'):
        run_tool('train.py', [cfg_path, '--work-dir', work])
    saved = glob.glob(osp.join(work, 'iter_*.pth'))
    assert [osp.basename(p) for p in saved] == ['iter_1.pth']
    for path in saved:
        ckpt = load_checkpoint_file(path)
        assert not non_finite_keys(ckpt['state_dict']), path
    # the test tool refuses non-finite weights, and never writes NaN JSON
    nan = str(tmp_path / 'nan.pth')
    state = load_checkpoint_file(saved[0])['state_dict']
    state = {k: v * float('nan') for k, v in state.items()}
    torch.save({'state_dict': state}, nan)
    out = tmp_path / 'm.json'
    with pytest.raises(SystemExit, match='NaN'):
        run_tool('test.py',
                 [cfg_path, nan, '--out',
                  str(out), '--work-dir', work])
    if out.exists():
        json.loads(out.read_text())
