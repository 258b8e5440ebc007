# Copyright (c) mmderain contributors. All rights reserved.
"""The CoIC configs encode the official recipe (CoIC ``train_BRN.py`` with
the README's ``--contra_loss_weight 0.2``) and hold the official
parameter counts."""
import glob
import os.path as osp

import pytest

from mmderain.registry import OPTIM_WRAPPER_CONSTRUCTORS
from tests._helpers import ROOT, build_model, load_config, num_params

COIC = 'coic-brn_t8_b12-p100-260k_mix5'
PLAIN = 'brn_t8_b12-p100-260k_mix5'
# official counts: BRN 375,526 (brn_baseline.pth), its CoI-M modulation
# MLPs (g2pa) 205,223 (brn_coic.pth: 580,749), one MoCo encoder 1,257,664
BRN, G2PA, ENCODER = 375_526, 205_223, 1_257_664


def test_coic_brn_recipe_and_parameter_counts():
    cfg = load_config('coic', COIC)
    m = cfg.model
    assert m.train_cfg.stage1_iters == 40_000
    assert (m.contrastive_loss.loss_weight,
            m.contrastive_loss.temperature) == (0.2, 1.0)
    assert m.encoder.momentum == 0.999
    assert m.generator.conv_cfg.code_dim == m.encoder.code_dim == 128
    assert m.test_cfg.context_size == 128
    assert cfg.train_cfg.max_iters == 260_000
    loader = cfg.train_dataloader
    assert loader.batch_size == 12
    assert loader.dataset.names == [
        'rain200h', 'rain200l', 'rain800', 'did_mdn', 'ddn'
    ]
    for sub in loader.dataset.datasets:
        crop, = (t for t in sub.pipeline if t.type == 'PairedRandomCrop')
        assert crop.patch_size == 100
    # lr x0.2 one epoch (2,409 iterations at batch 12) after 30/50/80
    assert cfg.param_scheduler.milestones == [e * 2409 for e in (31, 51, 81)]
    assert cfg.param_scheduler.gamma == 0.2
    model = build_model(cfg)
    assert num_params(model.generator) == BRN + G2PA
    assert num_params(model.encoder) == 2 * ENCODER
    ow = dict(cfg.optim_wrapper)
    wrappers = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=ow.pop('constructor'), optim_wrapper_cfg=ow))(
            model)

    def size(name):
        assert wrappers[name].optimizer.defaults['lr'] == 1e-3
        return sum(p.numel() for g in wrappers[name].optimizer.param_groups
                   for p in g['params'])

    # official: "base" = the backbone, "tran" = the g2pa MLPs and both
    # encoders (feat_extractor.parameters(); the key encoder gets no
    # gradients, so Adam leaves it alone)
    assert size('base') == BRN
    assert size('tran') == G2PA + 2 * ENCODER


def test_plain_brn_on_the_same_mixture():
    """The baseline differs from CoIC-BRN only by its model and
    optimiser."""
    cfg, coic = load_config('coic', PLAIN), load_config('coic', COIC)
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    for key in ('train_dataloader', 'param_scheduler', 'train_cfg'):
        assert cfg[key] == coic[key], key
    assert num_params(build_model(cfg).generator) == BRN


@pytest.mark.parametrize(
    'path',
    sorted(glob.glob(osp.join(ROOT, 'configs', 'coic', 'coic-*.py'))),
    ids=osp.basename)
def test_pipelines_pack_what_the_preprocessor_expects(path):
    """The encoder's inputs (whole images at crop size) reach the model."""
    cfg = load_config('coic', osp.basename(path))
    keys = cfg.model.data_preprocessor.optional_data_keys
    assert keys == ['img_ctx', 'gt_ctx']
    for sub in cfg.train_dataloader.dataset.datasets:
        pack = sub.pipeline[-1]
        assert pack.data_keys == keys
        assert 'dataset_idx' in pack.meta_keys
