# Copyright (c) mmderain contributors. All rights reserved.
"""Every shipped config loads, and its model, optimiser, pipelines and
schedulers build (the datasets need not exist)."""
import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmderain.registry import HOOKS, MODELS, PARAM_SCHEDULERS, TRANSFORMS
from mmderain.utils import register_all_modules
from tests._helpers import ROOT

CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if osp.basename(osp.dirname(p)) != '_base_')
IDS = [osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS]
REQUIRED = ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper',
            'param_scheduler', 'val_dataloader', 'test_dataloader',
            'test_evaluator')
#: What a test-only config (no training part at all, e.g. NIQE on real
#: photos for any checkpoint) needs.
TEST_ONLY_REQUIRED = ('model', 'test_dataloader', 'test_evaluator')


def _pipelines(node):
    """Every ``pipeline`` list in a (nested) config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'pipeline':
                yield value
            else:
                yield from _pipelines(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _pipelines(value)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_method_has_configs():
    methods = {osp.dirname(i) for i in IDS}
    assert methods >= {
        'brn', 'coic', 'dlinet', 'prenet', 'rain2avoid', 'ssidkd', 'vrgnet'
    }


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_config_builds(path):
    register_all_modules()
    cfg = Config.fromfile(path)
    test_only = 'train_dataloader' not in cfg and 'train_cfg' not in cfg
    missing = [
        key for key in (TEST_ONLY_REQUIRED if test_only else REQUIRED)
        if key not in cfg
    ]
    assert not missing, f'{path} lacks {missing}'
    model = MODELS.build(cfg.model)
    if not test_only:
        build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    pipelines = list(_pipelines(cfg.to_dict()))
    assert len(pipelines) >= (1 if test_only else 2)  # train and test
    for pipeline in pipelines:
        for step in pipeline:
            TRANSFORMS.build(step)
    for sched in _as_list(cfg.get('param_scheduler', [])):
        assert PARAM_SCHEDULERS.get(sched['type']) is not None, sched
    for hook in cfg.get('custom_hooks', []):
        assert HOOKS.get(hook['type']) is not None, hook


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_no_iteration_cosine_hard_codes_its_span(path):
    """Iteration-based cosine schedules end where the run ends (the Runner
    sets their end from ``train_cfg.max_iters``)."""
    for sched in _as_list(Config.fromfile(path).get('param_scheduler', [])):
        if sched['type'] == 'CosineAnnealingLR' \
                and not sched.get('by_epoch', True):
            assert 'T_max' not in sched and 'end' not in sched, path
