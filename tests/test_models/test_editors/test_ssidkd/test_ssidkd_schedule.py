# Copyright (c) mmderain contributors. All rights reserved.
"""The SSID-KD schedule end to end through tools/train.py: the small CPU
teacher config, then its students (official and distilling) started from
the teacher's checkpoint by LoadStageCheckpointHook, on tiny data."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from tests._helpers import ROOT, run_tool, write_pairs

CFG = osp.join(ROOT, 'configs', 'ssidkd')
TEACHER = osp.join(CFG, 'ssidkd_teacher-c12-u4_b4-p64-1k_rain100l.py')
STUDENTS = {
    'official':
    osp.join(CFG, 'ssidkd_student-c12-u4_b2-p128-300i_rain100l-real.py'),
    'distill':
    osp.join(CFG,
             'ssidkd_student-distill-c12-u4_b2-p128-300i_rain100l-real.py'),
}
TINY = [
    'model.generator.channels=[3,4,5]', 'model.generator.num_units=[1,1,1]'
]


def _common(pairs, iters=2):
    return TINY + [
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=2', f'train_cfg.max_iters={iters}',
        'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        f'val_dataloader.dataset.data_root={pairs}',
        f'test_dataloader.dataset.data_root={pairs}'
    ]


def _scalars(work):
    runs = [d for d in os.listdir(work) if osp.isdir(osp.join(work, d))]
    path = osp.join(work, sorted(runs)[-1], 'vis_data', 'scalars.json')
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def teacher(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ssidkd')
    pairs = write_pairs(str(tmp / 'pairs'), n=3, size=(40, 44), seed=0)
    real = tmp / 'real'
    real.mkdir()
    rng = np.random.default_rng(1)
    for k in range(3):
        cv2.imwrite(
            str(real / f'{k + 1}.jpg'),
            rng.integers(0, 256, (36 + k, 41, 3), dtype=np.uint8))
    work = str(tmp / 'teacher')
    run_tool('train.py', [
        TEACHER, '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.dataset.data_root={pairs}',
        'train_dataloader.dataset.dataset.pipeline.2.patch_size=32',
        *_common(pairs)
    ])
    return tmp, pairs, str(real), osp.join(work, 'iter_2.pth')


@pytest.mark.parametrize('mode', sorted(STUDENTS))
def test_student_starts_from_the_teacher_and_trains(teacher, mode):
    tmp, pairs, real, teacher_ckpt = teacher
    work = str(tmp / mode)
    run_tool('train.py', [
        STUDENTS[mode], '--work-dir', work, '--cfg-options',
        f'train_dataloader.dataset.paired.data_root={pairs}',
        'train_dataloader.dataset.paired.pipeline.2.patch_size=32',
        f'train_dataloader.dataset.unpaired.data_root={real}',
        'train_dataloader.dataset.unpaired.pipeline.1.patch_size=32',
        f'custom_hooks.0.checkpoint={teacher_ckpt}', *_common(pairs, iters=1)
    ])
    logged = [s for s in _scalars(work) if 'loss_code' in s]
    assert logged, 'the student logged no code loss'
    first = logged[0]
    assert {'loss_L1Loss', 'loss_DarkChannelLoss', 'loss_TVLoss'} <= set(first)
    if mode == 'distill':
        # student == teacher at the start: KL = 0 but for float rounding
        # (the frozen teacher runs without autograd, along other code
        # paths); weight 100 x KL < 1e-7
        assert first['loss_code'] == pytest.approx(0, abs=1e-5)
    else:  # 1e-6 * KL(syn || real), mean over elements: tiny, not zero
        assert 0 < first['loss_code'] < 1e-6
    # the whole network started from the teacher: one Adam step at lr 1e-4
    # moves no weight by much more than the lr
    start = torch.load(teacher_ckpt, map_location='cpu')['state_dict']
    end = torch.load(
        osp.join(work, 'iter_1.pth'), map_location='cpu')['state_dict']
    gen = [k for k in end if k.startswith('generator.')]
    assert gen and not any(k.startswith('teacher') for k in end)
    assert max((end[k] - start[k]).abs().max().item() for k in gen) < 2e-4
