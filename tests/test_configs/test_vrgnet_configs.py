# Copyright (c) mmderain contributors. All rights reserved.
"""The VRGNet configs build and encode the official recipe."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
from mmderain.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config(*parts: str) -> Config:
    return Config.fromfile(osp.join(ROOT, 'configs', *parts))


def _model_and_wrappers(cfg: Config) -> tuple:
    """The model of ``cfg`` and the optimizer wrappers its
    ``optim_wrapper`` groups build for it."""
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    groups = {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'}
    return model, GroupedOptimWrapperConstructor(groups)(model)


ALL = sorted(glob.glob(osp.join(ROOT, 'configs', 'vrgnet', '*.py')))
JOINT = [p for p in ALL if osp.basename(p).startswith('vrgnet_b18-')]


def test_configs_are_the_official_recipes_prenet_plus_and_one_cpu_run():
    assert [osp.basename(p) for p in ALL] == [
        'prenet-plus_t6-c16_b8-p64-1k_rain100l.py',
        'prenet-plus_t6_b18-p64-900k_rain100l.py',
        'prenet_t6-c16_b8-p64-1k_rain100l.py',
        'vrgnet_b18-p64-2100k_rain100h.py',
        'vrgnet_b18-p64-2100k_rain100l.py',
        'vrgnet_b18-p64-2100k_rain1400.py',
        'vrgnet_b18-p64-2400k_spa.py',
        'vrgnet_b8-p64-2k_rain100l.py',
    ]


@pytest.mark.parametrize('path', ALL, ids=osp.basename)
def test_every_config_builds(path):
    cfg = Config.fromfile(path)
    if cfg.model.type == 'VRGNet':
        model, wrappers = _model_and_wrappers(cfg)
        assert set(wrappers.keys()) == {'generator', 'rain', 'critic'}
        # the official networks and objective: no extra term, the official
        # critic input
        counts = {
            n: sum(p.numel() for p in getattr(model, n).parameters())
            for n in ('generator', 'rain_encoder', 'rain_generator', 'critic')
        }
        assert counts == dict(
            generator=170_697,
            rain_encoder=2_918_656,
            rain_generator=2_852_864,
            critic=3_183_475)
        assert not model.extra_generator_losses
        assert type(model.critic_input).__name__ == 'ImageCriticInput'
    else:
        init_default_scope('mmderain')
        MODELS.build(cfg.model)


def test_one_joint_config_per_dataset():
    names = [osp.basename(p) for p in JOINT]
    for ds in ('rain100l', 'rain100h', 'rain1400', 'spa'):
        assert sum(ds in n for n in names) == 1, names


@pytest.mark.parametrize('path', JOINT)
def test_joint_recipe(path):
    cfg = Config.fromfile(path)
    spa = 'spa' in path
    m = cfg.model
    assert m.type == 'VRGNet' and m.n_dis == 5 and m.gp_weight == 10
    assert m.prior_var == 1e-6 and m.adv_weight == (0.01 if spa else 1.0)
    assert m.test_cfg.quantize == 'trunc'
    ow = cfg.optim_wrapper
    assert ow.constructor == 'GroupedOptimWrapperConstructor'
    assert {k: ow[k].optimizer.lr
            for k in ('generator', 'rain', 'critic')} == dict(
                generator=2e-4, rain=1e-4, critic=4e-4)
    assert tuple(ow.rain.modules) == ('rain_encoder', 'rain_generator')
    epochs = 800 if spa else 700
    assert cfg.train_cfg.max_iters == epochs * 3000
    assert cfg.param_scheduler.milestones == [
        e * 3000 for e in (400, 600, 650, 675, 690, 700)
    ]
    assert cfg.param_scheduler.gamma == 0.5
    loader = cfg.train_dataloader
    assert loader.batch_size == 18
    crop = [t for t in loader.dataset.dataset.pipeline]
    assert [t.type for t in crop] == [
        'LoadImageFromFile', 'LoadImageFromFile', 'PairedRandomCrop',
        'PackInputs'
    ] and crop[2].patch_size == 64


def test_prenet_plus_is_prenet_plus_the_augment_fragment():
    plus = _config('vrgnet', 'prenet-plus_t6_b18-p64-900k_rain100l.py')
    base = _config('prenet', 'prenet_t6_b18-p100-100e_rain100l.py')
    assert plus.model == base.model
    hook, = plus.custom_hooks
    assert hook.type == 'RainAugmentHook' and hook.fake_ratio == 0.5
    assert plus.train_dataloader.batch_size == 18
    assert plus.train_cfg.max_iters == 200 * 4500
    assert plus.param_scheduler[0].milestones == [225_000, 450_000, 675_000]
