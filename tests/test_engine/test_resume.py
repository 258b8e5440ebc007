# Copyright (c) mmderain contributors. All rights reserved.
"""Resume continues a run exactly, with ``weights_only`` loading on."""
import os.path as osp

import torch
from mmengine.config import Config

from mmderain.apis.runner import build_runner
from tests._helpers import tiny_prenet_cfg, write_pairs


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def test_resume_is_exact(tmp_path, monkeypatch):
    # resume must not rely on disabling weights_only
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    data = write_pairs(tmp_path / 'data')

    straight = build_runner(
        Config(tiny_prenet_cfg(data, str(tmp_path / 'a'), name='straight')))
    straight.train()
    ckpt_2 = osp.join(tmp_path, 'a', 'iter_2.pth')
    ref = _load(osp.join(tmp_path, 'a', 'iter_4.pth'))

    resumed = build_runner(
        Config(tiny_prenet_cfg(data, str(tmp_path / 'b'), name='resumed')),
        resume=ckpt_2)
    resumed.train()
    assert resumed.iter == 4
    out = _load(osp.join(tmp_path, 'b', 'iter_4.pth'))

    assert out['meta']['iter'] == ref['meta']['iter'] == 4
    for k, v in ref['state_dict'].items():
        assert torch.equal(out['state_dict'][k], v), k
    ref_opt, out_opt = ref['optimizer']['state'], out['optimizer']['state']
    assert ref_opt.keys() == out_opt.keys()
    for pid in ref_opt:
        assert out_opt[pid]['step'] == ref_opt[pid]['step'] == 4
        for key in ('exp_avg', 'exp_avg_sq'):
            assert torch.equal(out_opt[pid][key], ref_opt[pid][key])
    # the scheduler continued too: lr halved at iter 3
    assert out['param_schedulers'] == ref['param_schedulers']
    assert out['optimizer']['param_groups'][0]['lr'] == 5e-4
