# Copyright (c) mmderain contributors. All rights reserved.
"""Resume continues a run exactly, with ``weights_only`` loading on."""
import os.path as osp

import pytest
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


def _truncate(path):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_resume_falls_back_when_last_checkpoint_is_broken(tmp_path):
    data = write_pairs(tmp_path / 'data')
    work = tmp_path / 'work'
    build_runner(Config(tiny_prenet_cfg(data, str(work),
                                        name='first'))).train()
    record = work / 'last_checkpoint'

    # a kill while the record was written, garbage, a vanished checkpoint
    for content in (b'', b'\x00\xff\x13garbage', b'/gone/iter_6.pth\n'):
        record.write_bytes(content)
        cfg = Config(tiny_prenet_cfg(data, str(work), name='again'))
        build_runner(cfg, resume=True)
        assert cfg.resume and cfg.load_from == str(work / 'iter_4.pth')

    # the newest checkpoint is truncated: the one before it is used
    _truncate(work / 'iter_4.pth')
    record.write_text(str(work / 'iter_4.pth'))
    cfg = Config(tiny_prenet_cfg(data, str(work), max_iters=6, name='last'))
    runner = build_runner(cfg, resume=True)
    assert cfg.load_from == str(work / 'iter_2.pth')
    runner.train()
    assert runner.iter == 6
    assert _load(work / 'iter_4.pth')['meta']['iter'] == 4


def _save(path, step):
    torch.save(dict(meta=dict(iter=step), state_dict={}), path)


def test_find_resumable_checkpoint(tmp_path, monkeypatch):
    from mmderain.engine import resume
    logged = []
    monkeypatch.setattr(resume, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    work = tmp_path
    assert resume.find_resumable_checkpoint(str(work)) is None
    for step in (2, 10, 12):
        _save(work / f'iter_{step}.pth', step)
    _truncate(work / 'iter_12.pth')
    (work / 'best_PSNR_iter_20.pth').write_bytes(b'not a checkpoint')
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    # a good record wins, even when newer checkpoints exist
    assert resume.find_resumable_checkpoint(str(work)) == str(work /
                                                              'iter_2.pth')

    (work / 'last_checkpoint').write_text('')
    logged.clear()
    # by the number in the name (10 after 2), skipping the truncated 12
    assert resume.find_resumable_checkpoint(str(work)) == str(work /
                                                              'iter_10.pth')
    assert any('iter_12.pth' in m and 'does not load' in m for m in logged)
    assert any('is empty' in m and 'iter_10.pth' in m for m in logged)

    # checkpoints that all fail to load are not overwritten by a new run
    _truncate(work / 'iter_10.pth')
    _truncate(work / 'iter_2.pth')
    with pytest.raises(RuntimeError, match='iter_2.pth'):
        resume.find_resumable_checkpoint(str(work))

    # not a training checkpoint
    torch.save({'generator.w': torch.zeros(1)}, work / 'iter_1.pth')
    assert 'not a training checkpoint' in resume.check_loadable(
        str(work / 'iter_1.pth'))
