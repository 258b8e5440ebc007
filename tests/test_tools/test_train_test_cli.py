# Copyright (c) mmderain contributors. All rights reserved.
"""tools/train.py, tools/test.py and tools/dist_train.sh on a tiny config."""
import glob
import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tests._helpers import run_tool, tiny_prenet_cfg, write_pairs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config_file(tmp_path, max_iters=2, name='cli'):
    data = write_pairs(tmp_path / 'data')
    cfg = Config(
        tiny_prenet_cfg(data, str(tmp_path / 'unused'), max_iters, name))
    cfg.pop('work_dir')  # tools choose it
    path = str(tmp_path / f'{name}.py')
    cfg.dump(path)
    return path


def test_train_resume_and_test(tmp_path):
    cfg = _config_file(tmp_path)
    work = str(tmp_path / 'work')
    run_tool('train.py', [cfg, '--work-dir', work])
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_2.pth')

    # --resume without a path continues from the work dir's latest
    run_tool('train.py', [
        cfg, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_iters=4'
    ])
    ckpt = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
    assert ckpt['meta']['iter'] == 4

    out = tmp_path / 'm' / 'metrics.json'
    metrics = run_tool('test.py', [
        cfg,
        osp.join(work, 'iter_4.pth'), '--out',
        str(out), '--work-dir', work
    ])
    result = json.loads(out.read_text())
    assert set(result) == {'PSNR', 'SSIM', 'per_image'}
    assert result['PSNR'] == metrics['PSNR']
    # the reported scores are the means of the per-image ones
    for key in ('PSNR', 'SSIM'):
        per_image = result['per_image'][key].values()
        assert result[key] == pytest.approx(sum(per_image) / len(per_image))
    assert sorted(result['per_image']['SSIM']) == [
        f'norain-{i}.png' for i in range(1, 5)
    ]


def _resumed_iter(work):
    """The iteration the newest run in ``work`` resumed from (None if it
    started afresh)."""
    log = sorted(glob.glob(osp.join(work, '*', '*.log')))[-1]
    found = re.findall(r'resumed epoch: \d+, iter: (\d+)', open(log).read())
    return int(found[-1]) if found else None


def test_resume_prefers_the_work_dir_over_a_warm_start(tmp_path):
    # a warm start as a converted checkpoint: weights only, no training meta
    cfg_path = _config_file(tmp_path)
    run_tool('train.py', [cfg_path, '--work-dir', str(tmp_path / 'pre')])
    pre = torch.load(str(tmp_path / 'pre' / 'iter_2.pth'), weights_only=True)
    warm = str(tmp_path / 'warm.pth')
    torch.save({'state_dict': pre['state_dict']}, warm)
    cfg = Config.fromfile(cfg_path)
    cfg.load_from = warm
    cfg_path = str(tmp_path / 'warm_cfg.py')
    cfg.dump(cfg_path)
    work = str(tmp_path / 'work')

    # nothing to resume yet: start afresh from the warm start (MMEngine
    # alone would try to resume from it and fail on its missing meta)
    # (distinct experiment names: MMEngine reuses the logger, and so the
    # log folder, of a run that started in the same second)
    run_tool('train.py', [
        cfg_path, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_iters=3', 'experiment_name=warm1'
    ])
    assert _resumed_iter(work) is None
    assert torch.load(
        osp.join(work, 'iter_3.pth'), weights_only=True)['meta']['iter'] == 3
    # then --resume continues the work dir's run, not the warm start
    run_tool('train.py', [
        cfg_path, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_iters=4', 'experiment_name=warm2'
    ])
    assert _resumed_iter(work) == 3
    assert torch.load(
        osp.join(work, 'iter_4.pth'), weights_only=True)['meta']['iter'] == 4


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_lmdb_and_test_one_cpu_process(tmp_path):
    cfg = _config_file(tmp_path, name='dist')
    work = str(tmp_path / 'work')
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1')
    # training reads the LMDB pack (per-process readers under DDP)
    from mmderain.datasets import PairedImageDataset
    from mmderain.datasets.lmdb.packing import pack_dataset
    data = str(tmp_path / 'data')
    disk = PairedImageDataset(data_root=data)
    pack_dataset([disk.get_data_info(i) for i in range(len(disk))],
                 data + '_lmdb',
                 show_progress=False)
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh', cfg, '1', '--work-dir', work,
        '--cfg-options', 'train_dataloader.dataset.backend=lmdb'
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'Distributed launcher: pytorch' in proc.stdout + proc.stderr
    with open(osp.join(work, 'dist.py')) as f:  # the config that ran
        assert "backend='lmdb'" in f.read()

    out = str(tmp_path / 'metrics.json')
    proc = subprocess.run([
        'bash', 'tools/dist_test.sh', cfg,
        osp.join(work, 'iter_2.pth'), '1', '--work-dir', work, '--out', out
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out) as f:
        assert len(json.load(f)['per_image']['PSNR']) == 4


@pytest.mark.parametrize('script,head',
                         [('dist_train.sh', ['cfg.py']),
                          ('dist_test.sh', ['cfg.py', 'ck.pth']),
                          ('dist_launch.sh', ['train.py'])])
@pytest.mark.parametrize('nproc', ['0', '-2', 'two', 'configs/x.py'])
def test_dist_scripts_reject_a_bad_process_count(script, head, nproc):
    env = dict(os.environ, PYTHON=sys.executable, CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(['bash', f'tools/{script}', *head, nproc],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"must be a positive integer, got '{nproc}'" in proc.stderr
    assert f'usage: tools/{script}' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_test_on_unpaired_images_reports_niqe(tmp_path):
    """tools/test.py on the real_internet_test base: no gt, NIQE only."""
    import cv2
    import numpy as np

    from mmderain.evaluation import calculate_niqe
    from tests._helpers import build_model
    rng = np.random.default_rng(0)
    real = tmp_path / 'real'
    real.mkdir()
    images = {}
    for name, (h, w) in {'2.png': (96, 192), '10.png': (100, 200)}.items():
        img = cv2.GaussianBlur(rng.normal(128, 40, (h, w, 3)), (5, 5), 1.)
        images[name] = np.clip(img, 0, 255).astype(np.uint8)  # BGR
        cv2.imwrite(str(real / name), images[name])
    base = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'datasets',
                 'real_internet_test.py'))
    cfg = Config(
        tiny_prenet_cfg(str(real), str(tmp_path / 'unused'), name='real'))
    cfg.pop('work_dir')
    cfg.test_dataloader = base.test_dataloader
    cfg.test_dataloader.update(num_workers=0)
    cfg.test_dataloader.dataset.data_root = str(real)
    cfg.test_evaluator = base.test_evaluator
    cfg_path = str(tmp_path / 'real.py')
    cfg.dump(cfg_path)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)

    out = tmp_path / 'niqe.json'
    metrics = run_tool('test.py', [
        cfg_path, ckpt, '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work')
    ])
    result = json.loads(out.read_text())
    assert set(metrics) == {'NIQE'} and set(result) == {'NIQE', 'per_image'}
    per_image = result['per_image']['NIQE']
    assert list(per_image) == ['2.png', '10.png']
    assert result['NIQE'] == pytest.approx(sum(per_image.values()) / 2)
    # the scores are those of the model's predictions (BGR pred_img)
    from mmagic.structures import DataSample
    for name, img in images.items():
        rgb = torch.from_numpy(img[..., ::-1].transpose(2, 0, 1).copy())
        # as the test pipeline packs it: RGB uint8, channel order noted
        sample = DataSample(metainfo=dict(img_channel_order='rgb'))
        with torch.no_grad():
            sample, = model.test_step(
                dict(inputs=[rgb], data_samples=[sample]))
        pred = sample.output.pred_img.permute(1, 2, 0).numpy()
        assert per_image[name] == pytest.approx(
            calculate_niqe(pred, channel_order='BGR'), abs=1e-9)
        assert abs(per_image[name] -
                   calculate_niqe(pred, channel_order='RGB')) > 0.02
