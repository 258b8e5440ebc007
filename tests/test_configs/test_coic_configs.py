# Copyright (c) mmderain contributors. All rights reserved.
"""The shipped CoIC configs build and encode the official BRN recipe."""
import os.path as osp

from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmderain.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COIC = osp.join(ROOT, 'configs', 'coic', 'coic-brn_t8_b12-p100-260k_mix5.py')
PLAIN = osp.join(ROOT, 'configs', 'coic', 'brn_t8_b12-p100-260k_mix5.py')
SMALL = osp.join(ROOT, 'configs', 'coic',
                 'coic-brn_t4-c16_b8-p64-1200i_rain100l-syn.py')


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_coic_brn_recipe_and_parameter_counts():
    cfg = Config.fromfile(COIC)
    m = cfg.model
    assert m.type == 'CoICDerainer'
    assert m.train_cfg.stage1_iters == 40_000
    assert m.contrastive_loss.loss_weight == 0.2
    assert m.contrastive_loss.temperature == 1.0
    assert m.test_cfg.context_size == 128
    assert cfg.train_cfg.max_iters == 260_000
    assert cfg.train_dataloader.batch_size == 12
    names = cfg.train_dataloader.dataset.names
    assert names == ['rain200h', 'rain200l', 'rain800', 'did_mdn', 'ddn']
    init_default_scope('mmderain')
    model = MODELS.build(m)
    # official counts: BRN 375,526 + g2pa 205,223; MoCo 2 x 1,257,664
    assert _count(model.generator) == 580_749
    assert _count(model.encoder) == 2_515_328
    ow = dict(cfg.optim_wrapper)
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=ow.pop('constructor'), optim_wrapper_cfg=ow))
    wrappers = ctor(model)

    def size(name):
        return sum(p.numel() for g in wrappers[name].optimizer.param_groups
                   for p in g['params'])

    assert size('base') == 375_526
    # g2pa + both encoders, as officially (feat_extractor.parameters();
    # the key encoder never gets gradients, so Adam leaves it alone)
    assert size('tran') == 205_223 + 2_515_328


def test_plain_brn_on_the_same_mixture():
    cfg = Config.fromfile(PLAIN)
    assert cfg.model.type == 'BaseDerainer'
    assert cfg.model.generator.get('conv_cfg') is None
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert cfg.train_dataloader == Config.fromfile(COIC).train_dataloader
    init_default_scope('mmderain')
    assert _count(MODELS.build(cfg.model).generator) == 375_526


def test_small_config_mixes_real_and_synthetic_rain():
    cfg = Config.fromfile(SMALL)
    ds = cfg.train_dataloader.dataset
    assert ds.names == ['rain100l', 'rain100l_syn']
    assert [t.type for t in ds.datasets[1].pipeline][:2] == [
        'LoadImageFromFile', 'AddRainStreaks'
    ]
    for sub in ds.datasets:
        pack = sub.pipeline[-1]
        assert pack.data_keys == ['img_ctx', 'gt_ctx']
        assert 'dataset_idx' in pack.meta_keys
    assert cfg.model.data_preprocessor.optional_data_keys == [
        'img_ctx', 'gt_ctx'
    ]
