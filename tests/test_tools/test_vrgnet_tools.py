# Copyright (c) mmderain contributors. All rights reserved.
"""VRGNet end to end: joint training (also distributed), the rain
augmentation of another derainer, and tools/vrgnet/generate.py.

The shipped configs are shrunk (2-stage 4-channel derainer, latent 8, 4/8
channel encoder/generator/critic, 2 iterations) and pointed at tiny data.
"""
import glob
import json
import os
import os.path as osp

import cv2
import pytest
import torch
from mmengine.config import Config

from tests._helpers import run_dist, run_tool, tiny_prenet_cfg, write_pairs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(latent_dim=8, base_channels=4, image_size=64)


def _joint_config(tmp_path, data):
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'vrgnet', 'vrgnet_b8-p64-2k_rain100l.py'))
    cfg.model.generator.update(num_stages=2, mid_channels=4, num_res_blocks=1)
    cfg.model.rain_encoder.update(TINY)
    cfg.model.rain_generator.update(TINY)
    cfg.model.critic.conv_dim = 8
    cfg.model.n_dis = 2
    train = cfg.train_dataloader
    train.update(batch_size=2, num_workers=0, persistent_workers=False)
    train.dataset.dataset.data_root = data
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks[0].interval = 1
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    path = str(tmp_path / 'vrgnet_tiny.py')
    cfg.dump(path)
    return path


def test_joint_training_augmentation_and_generation(tmp_path):
    data = write_pairs(tmp_path / 'data', n=3, size=(64, 72))
    cfg = _joint_config(tmp_path, data)
    work = str(tmp_path / 'joint')
    run_tool('train.py', [cfg, '--work-dir', work])
    ckpt_path = osp.join(work, 'iter_2.pth')
    state = torch.load(ckpt_path, weights_only=True)['state_dict']
    for prefix in ('generator.', 'rain_encoder.', 'rain_generator.',
                   'critic.'):
        assert any(k.startswith(prefix) for k in state), prefix
    assert sorted(os.listdir(osp.join(
        work, 'rain_samples'))) == ['iter_1.png', 'iter_2.png']
    # the joint checkpoint tests as a derainer (BNet)
    metrics = run_tool('test.py', [cfg, ckpt_path, '--work-dir', work])
    assert metrics['PSNR'] > 0

    # PReNet + the rain augmentation of that generator
    prenet = tiny_prenet_cfg(data, str(tmp_path / 'plus'), max_iters=2)
    crop = next(t for t in prenet['train_dataloader']['dataset']['pipeline']
                if t['type'] == 'PairedRandomCrop')
    crop['patch_size'] = 64
    prenet['model']['data_preprocessor'] = dict(
        type='DerainDataPreprocessor',
        mean=[0.] * 3,
        std=[255.] * 3,
        output_channel_order='RGB')
    prenet['custom_hooks'] = [
        dict(
            type='RainAugmentHook',
            checkpoint=work,
            fake_ratio=1.0,
            rain_generator=dict(type='RainGenerator', **TINY))
    ]
    plus_cfg = Config(prenet)
    plus_cfg.pop('work_dir')
    plus_path = str(tmp_path / 'plus.py')
    plus_cfg.dump(plus_path)
    plus_work = str(tmp_path / 'plus')
    run_tool('train.py', [plus_path, '--work-dir', plus_work])
    log = open(glob.glob(osp.join(plus_work, '*', '*.log'))[0]).read()
    assert 'Rain augmentation: generator from' in log
    plus_state = torch.load(
        osp.join(plus_work, 'iter_2.pth'), weights_only=True)['state_dict']
    assert not any('rain_generator' in k for k in plus_state)

    # generation tool: rainy versions, interpolation, disentanglement
    out = str(tmp_path / 'gen')
    files = run_tool('vrgnet/generate.py', [
        ckpt_path,
        osp.join(data, 'norain'), '--out-dir', out, '--num', '3',
        '--latent-dim', '8', '--base-channels', '4', '--steps', '5', '--dims',
        '0', '7', '--rainy',
        osp.join(data, 'rain', 'norain-1.png'),
        osp.join(data, 'rain', 'norain-2.png')
    ])
    assert len(glob.glob(osp.join(out, 'rainy', 'norain-*_[0-9].png'))) == 9
    grid = cv2.imread(files['disentanglement'])
    # 2 rows (dims) x 16 sweep values of 64 px tiles, 2 px padding
    assert grid.shape[:2] == (2 + 2 * 66, 2 + 16 * 66)
    interp = cv2.imread(files['interpolation'])
    assert interp.shape[:2] == (2 + 3 * 66, 2 + 5 * 66)

    # rain statistics: every checkpoint of the work dir, vs real layers
    stats_dir = str(tmp_path / 'stats')
    ckpt1 = osp.join(work, 'iter_1.pth')
    torch.save(torch.load(ckpt_path, weights_only=False), ckpt1)
    stats = run_tool('vrgnet/rain_stats.py', [
        work, '--real', data, '--out-dir', stats_dir, '--num', '4', '--show',
        '3', '--latent-dim', '8', '--base-channels', '4'
    ])
    assert [r['iter'] for r in stats['checkpoints']] == [1, 2]
    assert stats['real']['mean'] > 0 and stats['real']['chroma'] >= 0
    grid = cv2.imread(osp.join(stats_dir, 'rain_layers.png'))
    assert grid.shape[:2] == (2 + 3 * 66, 2 + 3 * 66)  # real + 2 rows
    assert osp.isfile(osp.join(stats_dir, 'rain_stats.png'))
    with open(osp.join(stats_dir, 'rain_stats.json')) as f:
        assert json.load(f) == stats
    with pytest.raises(FileNotFoundError, match='ROOT/rain'):
        run_tool('vrgnet/rain_stats.py', [
            ckpt_path, '--real', stats_dir, '--out-dir', stats_dir,
            '--latent-dim', '8', '--base-channels', '4'
        ])


def test_dist_train_joint_one_cpu_process(tmp_path):
    data = write_pairs(tmp_path / 'data', n=3, size=(64, 72))
    cfg = _joint_config(tmp_path, data)
    work = str(tmp_path / 'work')
    proc = run_dist('dist_train.sh', ([cfg], ['--work-dir', work]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'Distributed launcher: pytorch' in proc.stdout + proc.stderr
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
