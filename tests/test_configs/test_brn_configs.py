# Copyright (c) mmderain contributors. All rights reserved.
"""The shipped BRN configs build and encode the official recipe."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmderain.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'brn', '*.py')))
# dataset: (lr, patches per image and epoch, horizontal flips)
FULL = {'rain100l': (1e-3, 24, True), 'rain100h': (5e-4, 8, False)}


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs', 'brn', name))


def test_config_names():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == {
        'brn_t8_b12-p100-100e_rain100l.py',
        'brn_t8_b12-p100-100e_rain100h.py',
        'brn_t8-c16_b8-p64-1k_rain100l.py',
    }


@pytest.mark.parametrize('dataset', sorted(FULL))
def test_official_recipe(dataset):
    lr, times, flips = FULL[dataset]
    cfg = _cfg(f'brn_t8_b12-p100-100e_{dataset}.py')
    m = cfg.model
    assert m.type == 'BaseDerainer'
    assert m.generator == dict(type='BRN', num_iters=8, mid_channels=32)
    assert m.pixel_loss.type == 'SSIMLoss'
    assert m.test_cfg.quantize == 'trunc'
    assert m.data_preprocessor.std == [255.] * 3
    assert m.data_preprocessor.output_channel_order == 'RGB'
    loader = cfg.train_dataloader
    assert loader.batch_size == 12
    assert loader.dataset.times == times
    data = loader.dataset.dataset
    assert data.data_root == f'data/{dataset}/train'
    types = [t.type for t in data.pipeline]
    assert types[2] == 'PairedRandomCrop'
    assert data.pipeline[2].patch_size == 100
    assert ('Flip' in types) == flips
    assert cfg.test_dataloader.dataset.data_root == f'data/{dataset}/test'
    assert cfg.val_dataloader.dataset.data_root == f'data/{dataset}/test'
    assert [e.type for e in cfg.test_evaluator] == ['MatlabPSNR', 'MatlabSSIM']
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=lr)
    sched, = cfg.param_scheduler
    assert sched.type == 'MultiStepLR' and sched.by_epoch
    assert sched.milestones == [30, 50, 80] and sched.gamma == 0.2
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.train_cfg.max_epochs == 100
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.generator.parameters()) == 375_526


def test_small_cpu_config():
    cfg = _cfg('brn_t8-c16_b8-p64-1k_rain100l.py')
    assert cfg.model.generator == dict(
        type='BRN', num_iters=8, mid_channels=16)
    assert cfg.model.test_cfg.quantize == 'round'
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.dataset.dataset.pipeline[2].patch_size == 64
    assert cfg.train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=1000, val_interval=1000)
    sched, = cfg.param_scheduler
    # the cosine ends at max_iters (the Runner sets its end)
    assert sched.type == 'CosineAnnealingLR' and 'T_max' not in sched
    assert not cfg.default_hooks.checkpoint.by_epoch
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.generator.parameters()) < 375_526 / 3
