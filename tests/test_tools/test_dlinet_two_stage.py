# Copyright (c) mmderain contributors. All rights reserved.
"""The DLINet recipe: tools/train.py stage 1, then stage 2, also distributed.

The shipped small configs (configs/dlinet/dlinet-k4-n5-c16_*) are shrunk
further (2 masks, 2 blocks, 4 channels, 16x16 patches, 2 iterations) and
pointed at tiny random data.
"""
import glob
import os.path as osp

import torch
from mmengine.config import Config

from tests._helpers import run_dist, run_tool, write_pairs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(ROOT, 'configs', 'dlinet',
               'dlinet-k4-n5-c16_stage{}_b8-p64-{}_rain100l.py')


def _config(tmp_path, stage, data, stage1_ckpt=None, name=None):
    cfg = Config.fromfile(CFG.format(stage, '2k' if stage == 1 else '1k'))
    cfg.model.generator.update(num_masks=2, num_msa_blocks=2, mid_channels=4)
    train = cfg.train_dataloader
    train.update(batch_size=2, num_workers=0, persistent_workers=False)
    train.dataset.times = 1
    train.dataset.dataset.data_root = data
    crop = next(t for t in train.dataset.dataset.pipeline
                if t.type == 'PairedRandomCrop')
    crop.patch_size = 16
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if stage1_ckpt is not None:
        cfg.custom_hooks[0].checkpoint = stage1_ckpt
    path = str(tmp_path / f'{name or f"stage{stage}"}.py')
    cfg.dump(path)
    return path


def _generator(path):
    state = torch.load(path, weights_only=True)['state_dict']
    return {
        k[len('generator.'):]: v
        for k, v in state.items() if k.startswith('generator.')
    }


def test_stage1_then_stage2_with_resume(tmp_path):
    data = write_pairs(tmp_path / 'data', size=(24, 28))
    work1, work2 = str(tmp_path / 'work1'), str(tmp_path / 'work2')
    run_tool('train.py', [_config(tmp_path, 1, data), '--work-dir', work1])
    stage1 = _generator(osp.join(work1, 'iter_2.pth'))
    assert 'rain_detect.input_encoder_norain.0.weight' in stage1

    # stage 2 names the stage-1 work dir (resolved via last_checkpoint)
    cfg2 = _config(tmp_path, 2, data, stage1_ckpt=work1)
    run_tool('train.py', [cfg2, '--work-dir', work2])
    log = open(glob.glob(osp.join(work2, '*', '*.log'))[0]).read()
    assert 'Teacher loaded from' in log
    assert 'tensors (rain_estimate., fusion.) initialised' in log
    stage2 = _generator(osp.join(work2, 'iter_2.pth'))
    # the deployable model only: no stage-1 detector, no teacher
    assert 'rain_detect.mask_decoder_s.0.weight' in stage2
    assert not any(k.startswith('rain_detect.input_encoder') for k in stage2)
    ckpt = torch.load(osp.join(work2, 'iter_2.pth'), weights_only=True)
    assert not any('teacher' in k for k in ckpt['state_dict'])
    # 2 training steps moved the estimator away from its stage-1 start
    key = 'rain_estimate.msa_list.0.decoder.weight'
    assert not torch.equal(stage1[key], stage2[key])

    # resuming stage 2 continues from its own checkpoint (teacher reloaded)
    run_tool('train.py', [
        cfg2, '--work-dir', work2, '--resume', '--cfg-options',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4'
    ])
    resumed = torch.load(osp.join(work2, 'iter_4.pth'), weights_only=True)
    assert resumed['meta']['iter'] == 4

    # the stage-2 checkpoint tests like any derainer
    metrics = run_tool(
        'test.py',
        [cfg2, osp.join(work2, 'iter_4.pth'), '--work-dir', work2])
    assert metrics['PSNR'] > 0


def test_dist_train_both_stages_one_cpu_process(tmp_path):
    data = write_pairs(tmp_path / 'data', size=(24, 28))
    work1, work2 = str(tmp_path / 'work1'), str(tmp_path / 'work2')
    configs = [(_config(tmp_path, 1, data), work1)]
    configs.append(
        (_config(tmp_path, 2, data,
                 stage1_ckpt=osp.join(work1, 'iter_2.pth')), work2))
    for cfg, work in configs:
        proc = run_dist('dist_train.sh', ([cfg], ['--work-dir', work]))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert 'Distributed launcher: pytorch' in proc.stdout + proc.stderr
        assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'Teacher loaded from' in proc.stdout + proc.stderr
