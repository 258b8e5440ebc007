# Copyright (c) mmderain contributors. All rights reserved.
"""The PReNet demo config's schedule follows its iteration count."""
import glob
import math
import os.path as osp

import pytest

from mmderain.apis.runner import build_runner
from tests._helpers import write_pairs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'prenet',
                'prenet_t6-c16_b8-p48-2k_rain100l.py')


@pytest.mark.parametrize('max_iters', [2000, 40])
def test_demo_cosine_spans_max_iters(tmp_path, max_iters):
    """Changing ``train_cfg.max_iters`` alone rescales the cosine."""
    data = write_pairs(tmp_path / 'data', n=2, size=(48, 48))
    runner = build_runner(
        DEMO,
        cfg_options={
            'train_cfg.max_iters': max_iters,
            'train_dataloader.dataset.dataset.data_root': data,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
        },
        work_dir=str(tmp_path / 'work'))
    # building the loop gives the schedulers their default end
    assert runner.train_loop.max_iters == max_iters
    optim_wrapper = runner.optim_wrapper = runner.build_optim_wrapper(
        runner.optim_wrapper)
    sched, = runner.build_param_scheduler(runner.cfg.param_scheduler)
    assert sched.T_max == max_iters
    assert sched.end == max_iters
    optimizer = optim_wrapper.optimizer
    lrs = []
    for _ in range(max_iters):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        sched.step()
    lr, floor = 2e-3, 1e-5

    def cosine(t):
        angle = math.pi * t / max_iters
        return floor + (lr - floor) * (1 + math.cos(angle)) / 2

    # one half cosine from lr to floor over exactly max_iters iterations
    assert lrs == pytest.approx([cosine(t) for t in range(max_iters)])


@pytest.mark.parametrize(
    'path',
    sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))),
    ids=osp.basename)
def test_no_iteration_cosine_hard_codes_its_span(path):
    """Iteration-based cosine schedules end where the run ends."""
    from mmengine.config import Config
    scheds = Config.fromfile(path).get('param_scheduler') or []
    for sched in scheds if isinstance(scheds, list) else [scheds]:
        if sched.get('type') == 'CosineAnnealingLR' \
                and not sched.get('by_epoch', True):
            assert 'T_max' not in sched and 'end' not in sched, path
