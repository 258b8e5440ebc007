# Copyright (c) mmderain contributors. All rights reserved.
"""The configs of the VRGNet rain-generation project build, each with the
non-official components its run in the project README used."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
from mmderain.registry import MODELS
from tests._helpers import ROOT

CONFIGS = osp.join(ROOT, 'projects', 'vrgnet_rain_generation', 'configs')
ALL = sorted(glob.glob(osp.join(CONFIGS, '*.py')))
#: config -> (critic input, extra losses, init entries, trains the derainer)
EXPECTED = {
    'vrgnet-warm_b8-p64-3k_rain100l.py': ('ImageCriticInput', [], None, True),
    'vrgnet-warm-kaiming_b8-p64-3k_rain100l.py':
    ('ImageCriticInput', [], ['VRGNetOfficialInit',
                              'VRGNetKaimingInit'], True),
    'vrgnet-warm-kaiming-grey_b8-p64-3k_rain100l.py':
    ('ImageCriticInput', [],
     ['VRGNetOfficialInit', 'VRGNetKaimingInit', 'GreyRainInit'], True),
    'vrgnet-fixedbnet-kaiming_b8-p64-6k_rain100l.py':
    ('ImageCriticInput', [], ['VRGNetOfficialInit',
                              'VRGNetKaimingInit'], False),
    'vrgnet-fixedbnet-raincritic_b8-p64-3k_rain100l.py':
    ('RainCriticInput', [], ['VRGNetOfficialInit',
                             'VRGNetKaimingInit'], False),
    'vrgnet-warm-grey-div_b8-p64-3k_rain100l.py':
    ('ImageCriticInput', ['loss_div'], ['VRGNetOfficialInit',
                                        'GreyRainInit'], True),
    'vrgnet-gtrain-ndiv_b8-p64-4k_rain100l.py':
    ('GTRainCriticInput', ['loss_div'], ['VRGNetOfficialInit',
                                         'GreyRainInit'], False),
    'vrgnet-gtrain-joint_b8-p64-1k_rain100l.py':
    ('RainCriticInput', ['loss_div'], ['VRGNetOfficialInit',
                                       'GreyRainInit'], True),
}


def test_every_project_config_is_listed():
    assert sorted(osp.basename(p) for p in ALL) == sorted(EXPECTED)


@pytest.mark.parametrize('path', ALL, ids=osp.basename)
def test_project_config_builds(path):
    cfg = Config.fromfile(path)
    critic_input, losses, init, derainer = EXPECTED[osp.basename(path)]
    init_default_scope('mmderain')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    groups = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
    wrappers = GroupedOptimWrapperConstructor(groups)(model)
    assert type(model.critic_input).__name__ == critic_input
    assert [m.loss_name for m in model.extra_generator_losses] == losses
    assert [c['type'] for c in cfg.model.get('init_cfg') or []] == (init or [])
    assert model.train_derainer is derainer
    assert ('generator' in wrappers) is derainer
    assert all(p.requires_grad for p in model.generator.parameters()) \
        is derainer
    if init and 'GreyRainInit' in init:
        last = model.rain_generator.main[-2].weight  # (32, 3, 4, 4)
        assert all((last[:, 0] == last[:, c]).all() for c in (1, 2))
    if init and 'VRGNetKaimingInit' in init:
        w = model.rain_generator.main[3].weight  # (512, 256, 4, 4)
        assert abs(w.std().item() - (2 / (256 * 16))**0.5) < 2e-3


def test_only_the_second_stage_names_another_runs_checkpoint():
    stage1 = Config.fromfile(
        osp.join(CONFIGS, 'vrgnet-gtrain-ndiv_b8-p64-4k_rain100l.py'))
    stage2 = Config.fromfile(
        osp.join(CONFIGS, 'vrgnet-gtrain-joint_b8-p64-1k_rain100l.py'))
    assert stage2.load_from == osp.join(
        'work_dirs',
        osp.splitext(osp.basename(stage1.filename))[0], 'iter_4000.pth')
    for path in ALL:
        load_from = Config.fromfile(path).get('load_from')
        assert load_from in (
            stage2.load_from,
            'work_dirs/converted/vrgnet-derainer_syn100l.pth'), path
