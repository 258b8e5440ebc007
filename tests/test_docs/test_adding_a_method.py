# Copyright (c) mmderain contributors. All rights reserved.
"""docs/adding_a_method.md: its example configs build, the example method
trains, and the files it points to exist."""
import os.path as osp
import re

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmderain.apis.runner import build_runner
from mmderain.models.base_models import BaseDerainer, MultiOptimDerainer
from mmderain.registry import MODELS
from tests._helpers import ROOT, write_pairs

DOC = osp.join(ROOT, 'docs', 'adding_a_method.md')
CONFIGS = osp.join(ROOT, 'projects', 'example_method', 'configs')
GAN = osp.join(CONFIGS, 'gan-prenet_t4-c16_b8-p64-2k_rain100l.py')
RESTORMER = osp.join(CONFIGS, 'restormer_b8-p128-300k_rain13k.py')


def _doc() -> str:
    with open(DOC, encoding='utf-8') as f:
        return f.read()


def test_doc_quotes_the_tested_configs():
    doc = _doc()
    for path in (RESTORMER, GAN):
        with open(path, encoding='utf-8') as f:
            assert f.read() in doc, path


def test_paths_named_by_the_doc_exist():
    names = set(
        re.findall(
            r'`((?:mmderain|configs|tools|projects|tests|docs)'
            r'/[^`<>*{} ]+)`', _doc()))
    assert len(names) > 10
    missing = sorted(n for n in names if not osp.exists(osp.join(ROOT, n)))
    assert not missing


def test_restormer_from_mmagic_in_one_config():
    cfg = Config.fromfile(RESTORMER)
    init_default_scope('mmderain')
    model = MODELS.build(cfg.model).eval()
    assert isinstance(model, BaseDerainer)
    gen = model.generator
    assert type(gen).__module__.startswith('mmagic.')
    # mmagic's defaults are the official Restormer (26.13M parameters)
    assert sum(p.numel() for p in gen.parameters()) == 26_126_644
    x = torch.rand(1, 3, 12, 20)  # not a multiple of 8
    with torch.no_grad():
        out = model.derain_tensor(x)
        expected = gen(x).clamp(0, 1)
    assert out.shape == x.shape
    torch.testing.assert_close(out, expected)


def test_example_method_trains_two_iterations(tmp_path):
    data = write_pairs(tmp_path / 'data', n=3, size=(64, 72))
    work = str(tmp_path / 'work')
    runner = build_runner(
        GAN,
        cfg_options={
            'model.generator.num_stages': 2,
            'model.generator.mid_channels': 4,
            'model.generator.num_res_blocks': 1,
            'model.critic.base_channels': 4,
            # iteration 0 warm-up (pixel loss), iteration 1 adversarial
            'model.warmup_iters': 1,
            'train_dataloader.batch_size': 2,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'train_dataloader.dataset.dataset.data_root': data,
            'val_dataloader.dataset.data_root': data,
            'test_dataloader.dataset.data_root': data,
            'train_cfg.max_iters': 2,
            'default_hooks.checkpoint.interval': 1,
            'default_hooks.checkpoint.max_keep_ckpts': 2,
            'default_hooks.logger.interval': 1,
            'env_cfg.dist_cfg.backend': 'gloo',
        },
        work_dir=work)
    model = runner.model
    assert isinstance(model, MultiOptimDerainer)
    assert type(model).__name__ == 'ExampleGANDerainer'
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert len(scalars['train/loss_SSIMLoss'].data[0]) == 2
    # the critic steps from iteration 1 on only
    assert len(scalars['train/loss_critic'].data[0]) == 1
    assert len(scalars['train/loss_adv'].data[0]) == 1

    def weights(it):
        ckpt = torch.load(
            osp.join(work, f'iter_{it}.pth'),
            map_location='cpu',
            weights_only=False)
        return ckpt['state_dict'], ckpt['optimizer']

    (first, optim), (second, _) = weights(1), weights(2)
    assert set(optim) == {'generator', 'critic'}

    def changed(prefix):
        return any(not torch.equal(first[k], second[k]) for k in first
                   if k.startswith(prefix))

    assert changed('generator.') and changed('critic.')
    # the trained model loads back into the config's model and derains
    init_default_scope('mmderain')
    fresh = MODELS.build(runner.cfg.model).eval()
    load_checkpoint(fresh, osp.join(work, 'iter_2.pth'), strict=True)
    out = fresh.derain_tensor(torch.rand(1, 3, 10, 12))
    assert out.shape == (1, 3, 10, 12)
