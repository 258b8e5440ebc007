# Copyright (c) mmderain contributors. All rights reserved.
"""The shipped DLINet configs build and encode the official recipe."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmderain.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FULL = {
    # dataset: (training pairs, stage-1 epoch repeat, stage-2 repeat)
    'rain200h': (1800, 11, 8),
    'rain200l': (1800, 11, 8),
    'rain100l': (200, 100, 83),
}


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs', 'dlinet', name))


@pytest.mark.parametrize('dataset', sorted(FULL))
def test_epoch_based_recipes(dataset):
    n, rep1, rep2 = FULL[dataset]
    s1 = _cfg(f'dlinet_stage1_b20-p100-300e_{dataset}.py')
    s2 = _cfg(f'dlinet_stage2_b16-p100-300e_{dataset}.py')
    for cfg, batch, rep in ((s1, 20, rep1), (s2, 16, rep2)):
        assert cfg.train_dataloader.batch_size == batch
        # official JORDER/EDSR epoch: repeat = 1000 // (n // batch)
        assert cfg.train_dataloader.dataset.times == rep == 1000 // (
            n // batch)
        assert cfg.optim_wrapper.optimizer.lr == 2e-4
        assert cfg.param_scheduler[0].milestones == [100, 150, 200, 250]
        assert cfg.param_scheduler[0].gamma == 0.5
        assert cfg.train_cfg.max_epochs == 300
        assert cfg.model.train_cfg.crop_multiple == 8
        pipeline = cfg.train_dataloader.dataset.dataset.pipeline
        assert [t.type for t in pipeline][2:4] == ['PairedRandomCrop', 'Flip']
        assert pipeline[2].patch_size == 100
        assert pipeline[3].direction == 'horizontal'
        assert dataset in cfg.train_dataloader.dataset.dataset.data_root
        assert dataset in cfg.test_dataloader.dataset.data_root
    assert s1.model.generator.stage == 'first' and not s1.get('custom_hooks')
    assert s2.model.generator.stage == 'second'
    assert s2.model.mask_loss.loss_weight == 1e4
    hook, = s2.custom_hooks
    assert hook.type == 'LoadStageCheckpointHook'
    assert hook.init_prefixes == ('rain_estimate.', 'fusion.')
    # stage 2 starts from stage 1's last epoch in its default work dir
    assert hook.checkpoint == (
        f'work_dirs/dlinet_stage1_b20-p100-300e_{dataset}/epoch_300.pth')


def test_spa_recipe_samples_the_whole_set():
    s1 = _cfg('dlinet_stage1_b20-p100-300k_spa.py')
    s2 = _cfg('dlinet_stage2_b16-p100-300k_spa.py')
    for cfg in (s1, s2):
        assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
        assert cfg.train_dataloader.dataset.times == 1
        assert cfg.train_cfg.type == 'IterBasedTrainLoop'
        assert cfg.train_cfg.max_iters == 300_000
        assert cfg.param_scheduler[0].milestones == [
            100_000, 150_000, 200_000, 250_000
        ]
        assert 'max_epochs' not in cfg.train_cfg
    assert s2.custom_hooks[0].checkpoint.endswith(
        'dlinet_stage1_b20-p100-300k_spa/iter_300000.pth')


@pytest.mark.parametrize(
    'path', sorted(glob.glob(osp.join(ROOT, 'configs', 'dlinet', '*.py'))))
def test_models_build_with_official_parameter_counts(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    stage = 1 if 'stage1' in osp.basename(path) else 2
    assert model.stage == ('first' if stage == 1 else 'second')
    assert (model.teacher is not None) == (stage == 2)
    if 'k4-n5' not in path:
        params = sum(p.numel() for p in model.generator.parameters())
        assert params == (1_431_957 if stage == 1 else 2_611_893)
