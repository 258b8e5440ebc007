# Copyright (c) mmderain contributors. All rights reserved.
"""The PReNet configs encode the official recipe (csdwren/PReNet
``train_PReNet.py``) and the demo's schedule follows its iteration count."""
import math
import os.path as osp

import pytest

from mmderain.apis.runner import build_runner
from tests._helpers import (ROOT, build_model, load_config, num_params,
                            write_pairs)

DEMO = osp.join(ROOT, 'configs', 'prenet',
                'prenet_t6-c16_b8-p48-2k_rain100l.py')
# config prefix: (generator arguments, parameters). PReNet and PRN: the
# counts of the official Rain100L checkpoints (PReNet6_rain100l.pth,
# PRN6_rain100l.pth); PReNet_r and PRN_r (networks.py: one residual block
# applied five times) hold 4 x 2 convolutions of 32x32x3x3 fewer (-73,984).
VARIANTS = {
    'prenet': (dict(recurrent='lstm', share_res_blocks=False), 168_963),
    'prn': (dict(recurrent=None, share_res_blocks=False), 95_107),
    'prenet-r': (dict(recurrent='lstm', share_res_blocks=True), 94_979),
    'prn-r': (dict(recurrent=None, share_res_blocks=True), 21_123),
}


@pytest.mark.parametrize('dataset', ['rain100l', 'rain100h'])
@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_official_recipe(variant, dataset):
    arch, count = VARIANTS[variant]
    cfg = load_config('prenet', f'{variant}_t6_b18-p100-100e_{dataset}')
    gen = cfg.model.generator
    assert (gen.num_stages, gen.mid_channels, gen.num_res_blocks) == (6, 32, 5)
    assert {k: gen[k] for k in arch} == arch
    assert cfg.model.pixel_loss.type == 'SSIMLoss'  # -SSIM of the output
    # the official test script saves uint8(255 * clamp(x, 0, 1))
    assert cfg.model.test_cfg.quantize == 'trunc'
    loader = cfg.train_dataloader
    assert loader.batch_size == 18
    crop, = (
        t for t in loader.dataset.dataset.pipeline
        if t.type == 'PairedRandomCrop')
    assert crop.patch_size == 100
    assert dataset in loader.dataset.dataset.data_root
    assert dataset in cfg.test_dataloader.dataset.data_root
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    sched, = cfg.param_scheduler
    assert (sched.type, sched.by_epoch, sched.milestones,
            sched.gamma) == ('MultiStepLR', True, [30, 50, 80], 0.2)
    assert cfg.train_cfg.max_epochs == 100
    assert num_params(build_model(cfg).generator) == count


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
