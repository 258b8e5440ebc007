# Copyright (c) mmderain contributors. All rights reserved.
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmderain.apis.runner import build_runner, input_failures
from mmderain.engine.loops import sdr_order
from mmderain.evaluation.functional import calculate_psnr
from mmderain.registry import MODELS
from tests._helpers import load_config, run_tool, write_sdr_layout

TINY = dict(type='PReNet', num_stages=1, mid_channels=4, num_res_blocks=1)


def _cfg(root, work_dir, **loop):
    """The shipped per-image recipe on tiny data with a tiny network."""
    cfg = load_config('rain2avoid', 'sdrl-unet_per-image_100e_rain100l')
    cfg.merge_from_dict({
        'work_dir': str(work_dir),
        'train_dataloader.dataset.data_root': str(root),
        'train_dataloader.dataset.num_sdrs': 3,
        'model.generator': TINY,
        'train_cfg.epochs': 2,
        'train_cfg.log_interval': 2,
    })
    cfg.train_cfg.update(loop)
    return cfg


def test_sdr_order():
    assert sdr_order(3, 'numeric') == [0, 1, 2]
    order = sdr_order(50, 'lexicographic')
    assert order[:5] == [0, 1, 10, 11, 12] and order[11:13] == [19, 2]
    assert sorted(order) == list(range(50))
    with pytest.raises(ValueError, match='order'):
        sdr_order(3, 'random')


def test_per_image_run(tmp_path):
    root = write_sdr_layout(
        tmp_path / 'data',
        n=3,
        num_sdrs=3,
        without_sdrs=(3, ),
        without_gt=(2, ))
    runner = build_runner(_cfg(root, tmp_path / 'work', order='numeric'))
    targets = []
    train_step = runner.model.train_step

    def spy(data, optim_wrapper):
        targets.append(data['data_samples'][0].gt_img.clone())
        return train_step(data, optim_wrapper)

    runner.model.train_step = spy
    runner.train()
    loop = runner.train_loop
    out = osp.join(tmp_path, 'work', 'per_image')

    # image 3 has no SDRs: reported, not silently skipped
    assert [k for k, _ in input_failures(runner)] == ['3']
    summary = json.load(open(osp.join(out, 'summary.json')))
    assert [f['key'] for f in summary['failures']] == ['3']
    assert sorted(summary['images']) == ['1', '2']

    # 2 epochs x 3 SDRs per image, references in order 0, 1, 2, 0, 1, 2
    assert len(targets) == 12 and loop.iter == 12
    sdrs = [
        cv2.imread(osp.join(root, 'sdr', '1', f'{k}.png'))[..., ::-1]
        for k in range(3)
    ]
    for step, target in enumerate(targets[:6]):
        np.testing.assert_array_equal(
            target.permute(1, 2, 0).numpy(), sdrs[step % 3])

    # metrics of the output and of the fused SDR (mean of gt + (k, 2k, 3k)
    # over k = 0, 1, 2 in BGR: gt + (1, 2, 3)) against the clean image
    log = json.load(open(osp.join(out, '1.json')))
    assert len(log['loss']) == 6
    gt = cv2.imread(osp.join(root, 'norain', '1.png'))
    fused = np.clip(gt.astype(int) + np.array([1, 2, 3]), 0, 255)
    assert log['metrics']['fused_sdr']['PSNR'] == pytest.approx(
        calculate_psnr(fused, gt, channel_order='BGR', convert_to='Y'),
        abs=1e-9)
    assert set(log['metrics']['output']) == {'PSNR', 'SSIM'}
    rain = cv2.imread(osp.join(root, 'rain', '1.png'))
    assert log['metrics']['input']['PSNR'] == pytest.approx(
        calculate_psnr(rain, gt, channel_order='BGR', convert_to='Y'),
        abs=1e-9)
    # no clean image: no metrics, but the output is written
    assert json.load(open(osp.join(out, '2.json')))['metrics'] == {
        'output': {}
    }

    # the written output is the eval-mode output of the last model
    saved = cv2.imread(osp.join(out, '2.png'))
    data = loop.dataset.prepare_data(1)
    runner.model.eval()
    with torch.no_grad():
        pred = runner.model.val_step(
            dict(inputs=[data['inputs']],
                 data_samples=[data['data_samples']]))[0].output.pred_img
    np.testing.assert_array_equal(saved, pred.permute(1, 2, 0).byte().numpy())


def test_reset_is_a_fresh_network_and_optimizer(tmp_path):
    root = write_sdr_layout(tmp_path / 'data', n=1, num_sdrs=3)
    runner = build_runner(_cfg(root, tmp_path / 'work'))
    runner.train()
    loop = runner.train_loop
    assert runner.optim_wrapper.optimizer.state  # Adam moments of image 1
    torch.manual_seed(7)
    loop.reset()
    torch.manual_seed(7)
    fresh = MODELS.build(TINY)
    for key, value in fresh.state_dict().items():
        torch.testing.assert_close(
            runner.model.generator.state_dict()[key], value, rtol=0, atol=0)
    assert not runner.optim_wrapper.optimizer.state


def test_train_tool_exit_status(tmp_path):
    root = write_sdr_layout(
        tmp_path / 'data', n=2, num_sdrs=3, without_sdrs=(2, ))
    cfg = _cfg(root, tmp_path / 'work')
    cfg.dump(str(tmp_path / 'cfg.py'))
    with pytest.raises(SystemExit) as exit_info:
        run_tool('train.py', [str(tmp_path / 'cfg.py')])
    message = str(exit_info.value.code)
    assert '1 input(s) could not be processed' in message
    assert '2: 3 of its 3 SDRs are missing' in message
    assert osp.isfile(osp.join(tmp_path, 'work', 'per_image', '1.png'))


def test_refuses_several_processes(tmp_path, monkeypatch):
    from mmderain.engine.loops import per_image_loop
    root = write_sdr_layout(tmp_path / 'data', n=1, num_sdrs=3)
    runner = build_runner(_cfg(root, tmp_path / 'work'))
    monkeypatch.setattr(per_image_loop, 'get_world_size', lambda: 2)
    with pytest.raises(RuntimeError, match='one process.*ann_file'):
        runner.train()


def test_skip_done_continues_an_interrupted_run(tmp_path):
    root = write_sdr_layout(tmp_path / 'data', n=2, num_sdrs=3)
    runner = build_runner(_cfg(root, tmp_path / 'work'))
    runner.train()
    out = osp.join(tmp_path, 'work', 'per_image')
    first = json.load(open(osp.join(out, 'summary.json')))
    os.remove(osp.join(out, '2.png'))  # image 2 was interrupted
    stamp = os.stat(osp.join(out, '1.png')).st_mtime_ns
    runner = build_runner(_cfg(root, tmp_path / 'work', skip_done=True))
    runner.train()
    assert runner.train_loop.iter == 6  # only image 2 trained again
    assert os.stat(osp.join(out, '1.png')).st_mtime_ns == stamp
    assert osp.isfile(osp.join(out, '2.png'))
    summary = json.load(open(osp.join(out, 'summary.json')))
    assert summary['images']['1'] == first['images']['1']
