# Copyright (c) mmderain contributors. All rights reserved.
"""The shipped VRGNet configs build and encode the official recipe."""
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
    groups = {
        k: v
        for k, v in cfg.optim_wrapper.items() if k != 'constructor'
    }
    return model, GroupedOptimWrapperConstructor(groups)(model)


JOINT = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'vrgnet', 'vrgnet_b18-*.py')))


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
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    counts = {
        n: sum(p.numel() for p in getattr(model, n).parameters())
        for n in ('generator', 'rain_encoder', 'rain_generator', 'critic')
    }
    assert counts == dict(
        generator=170_697,
        rain_encoder=2_918_656,
        rain_generator=2_852_864,
        critic=3_183_475)


def test_prenet_plus_is_prenet_plus_the_augment_fragment():
    plus = _config('vrgnet', 'prenet-plus_t6_b18-p64-900k_rain100l.py')
    base = _config('prenet', 'prenet_t6_b18-p100-100e_rain100l.py')
    assert plus.model == base.model
    hook, = plus.custom_hooks
    assert hook.type == 'RainAugmentHook' and hook.fake_ratio == 0.5
    assert plus.train_dataloader.batch_size == 18
    assert plus.train_cfg.max_iters == 200 * 4500
    assert plus.param_scheduler[0].milestones == [225_000, 450_000, 675_000]


def test_kaiming_evidence_config_differs_only_where_documented():
    cfg = _config('vrgnet', 'vrgnet-warm-kaiming_b8-p64-3k_rain100l.py')
    warm = _config('vrgnet', 'vrgnet-warm_b8-p64-3k_rain100l.py')
    m = cfg.model
    assert tuple(m.kaiming_init) == ('rain_generator', )
    assert tuple(m.official_init) == ('generator', 'rain_encoder')
    assert m.n_dis == 2 and warm.model.n_dis == 5
    for key in ('generator', 'rain_encoder', 'rain_generator', 'critic',
                'prior_var', 'adv_weight', 'gp_weight'):
        assert m[key] == warm.model[key], key
    ow = cfg.optim_wrapper
    assert ow.rain.optimizer.lr == 2e-4
    assert tuple(ow.rain.optimizer.betas) == (0.5, 0.999)
    assert tuple(ow.critic.optimizer.betas) == (0.5, 0.999)
    assert ow.generator == warm.optim_wrapper.generator
    assert cfg.load_from == warm.load_from
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    w = model.rain_generator.main[3].weight  # (512, 256, 4, 4)
    assert abs(w.std().item() - (2 / (256 * 16))**0.5) < 2e-3


def test_fixed_derainer_config_is_the_kaiming_run_with_bnet_frozen():
    cfg = _config('vrgnet', 'vrgnet-fixedbnet-kaiming_b8-p64-6k_rain100l.py')
    kaiming = _config('vrgnet', 'vrgnet-warm-kaiming_b8-p64-3k_rain100l.py')
    assert cfg.model.train_derainer is False
    for key in ('generator', 'rain_encoder', 'rain_generator', 'critic',
                'n_dis', 'official_init', 'kaiming_init'):
        assert cfg.model[key] == kaiming.model[key], key
    ow = cfg.optim_wrapper
    assert 'generator' not in ow
    for name in ('rain', 'critic'):
        assert ow[name] == kaiming.optim_wrapper[name], name
    assert cfg.train_cfg.max_iters == 6000
    assert cfg.load_from == kaiming.load_from
    model, optim = _model_and_wrappers(cfg)
    assert set(optim.keys()) == {'rain', 'critic'}
    assert not any(p.requires_grad for p in model.generator.parameters())


def test_rain_critic_config_differs_only_in_the_critic_input():
    cfg = _config('vrgnet',
                  'vrgnet-fixedbnet-raincritic_b8-p64-3k_rain100l.py')
    fixed = _config('vrgnet', 'vrgnet-fixedbnet-kaiming_b8-p64-6k_rain100l.py')
    assert cfg.model.critic_input == 'rain'
    assert 'critic_input' not in fixed.model  # the official default
    assert {k: v for k, v in cfg.model.items() if k != 'critic_input'} \
        == fixed.model
    assert cfg.optim_wrapper == fixed.optim_wrapper
    assert cfg.train_cfg.max_iters == 3000


def test_diversity_config_is_the_official_warm_run_plus_two_options():
    cfg = _config('vrgnet', 'vrgnet-warm-grey-div_b8-p64-3k_rain100l.py')
    warm = _config('vrgnet', 'vrgnet-warm_b8-p64-3k_rain100l.py')
    added = dict(grey_init=True, diversity_weight=30.0, diversity_tau=0.035)
    assert {k: cfg.model[k] for k in added} == added
    assert {k: v for k, v in cfg.model.items() if k not in added} \
        == warm.model
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                'load_from', 'custom_hooks', 'train_dataloader'):
        assert cfg[key] == warm[key], key
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    last = model.rain_generator.main[-2].weight  # (32, 3, 4, 4)
    assert last.std().item() > 0
    assert all((last[:, 0] == last[:, c]).all() for c in (1, 2))


def test_ground_truth_rain_config_trains_only_the_rain_side():
    cfg = _config('vrgnet', 'vrgnet-gtrain-ndiv_b8-p64-4k_rain100l.py')
    m = cfg.model
    assert m.critic_input == 'gt_rain' and not m.train_derainer
    assert m.n_dis == 1 and m.grey_init and m.diversity_normalize
    assert (m.diversity_weight, m.diversity_tau) == (2.0, 1.4)
    ow = cfg.optim_wrapper
    assert set(ow) == {'constructor', 'rain', 'critic'}
    assert ow.rain.optimizer.lr == 1e-4 and ow.critic.optimizer.lr == 4e-4
    assert ow.rain.optimizer.betas == ow.critic.optimizer.betas == (0.0, 0.9)
    # the frozen derainer is the converted official one, for tools/test.py
    assert cfg.load_from == 'work_dirs/converted/vrgnet-derainer_syn100l.pth'
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.randomness.seed == 1  # the seed of the run in README.md
    model, wrappers = _model_and_wrappers(cfg)
    assert set(wrappers.keys()) == {'rain', 'critic'}
    assert not any(p.requires_grad for p in model.generator.parameters())


def test_joint_stage_trains_all_four_networks_from_stage_one():
    stage1 = _config('vrgnet', 'vrgnet-gtrain-ndiv_b8-p64-4k_rain100l.py')
    cfg = _config('vrgnet', 'vrgnet-gtrain-joint_b8-p64-1k_rain100l.py')
    m = cfg.model
    assert m.critic_input == 'rain' and m.train_derainer
    changed = ('critic_input', 'train_derainer')
    assert {k: v for k, v in m.items() if k not in changed} == \
        {k: v for k, v in stage1.model.items() if k not in changed}
    assert cfg.load_from == osp.join('work_dirs', osp.splitext(
        osp.basename(stage1.filename))[0], 'iter_4000.pth')
    ow = cfg.optim_wrapper
    assert ow.generator.optimizer == dict(type='Adam', lr=2e-4)
    for name in ('rain', 'critic'):
        assert ow[name] == stage1.optim_wrapper[name], name
    model, wrappers = _model_and_wrappers(cfg)
    assert set(wrappers.keys()) == {'generator', 'rain', 'critic'}
    assert all(p.requires_grad for p in model.generator.parameters())
