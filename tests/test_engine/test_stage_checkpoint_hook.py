# Copyright (c) mmderain contributors. All rights reserved.
"""LoadStageCheckpointHook: stage-2 start from a stage-1 checkpoint."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmderain.engine.hooks import (LoadStageCheckpointHook,
                                   load_generator_state, resolve_checkpoint)
from mmderain.registry import HOOKS, MODELS

ARCH = dict(type='DLINet', num_masks=2, num_msa_blocks=2, mid_channels=4)
PREFIXES = ('rain_estimate.', 'fusion.')


def _model(stage):
    init_default_scope('mmderain')
    cfg = dict(type='DLINetDerainer', generator=dict(ARCH, stage=stage))
    if stage == 'second':
        cfg['mask_loss'] = dict(type='BinaryCrossEntropyLoss')
    return MODELS.build(cfg)


def _stage1_checkpoint(tmp_path, name='epoch_3.pth'):
    torch.manual_seed(1)
    stage1 = _model('first')
    path = str(tmp_path / name)
    torch.save({'state_dict': stage1.state_dict(), 'meta': {}}, path)
    return stage1, path


def _runner(model, has_loaded=False):
    return SimpleNamespace(
        model=model,
        _has_loaded=has_loaded,
        logger=MMLogger.get_instance('test_stage_hook'))


def _equal(a, b, prefixes):
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa if k.startswith(prefixes))


def test_fresh_start_loads_teacher_and_initialises_prefixes(tmp_path):
    stage1, path = _stage1_checkpoint(tmp_path)
    torch.manual_seed(2)
    model = _model('second')
    detector = {
        k: v.clone()
        for k, v in model.generator.state_dict().items()
        if k.startswith('rain_detect.')
    }
    hook = HOOKS.build(
        dict(
            type='LoadStageCheckpointHook',
            checkpoint=path,
            init_prefixes=PREFIXES))
    hook.before_train(_runner(model))
    assert model.teacher_loaded
    assert _equal(model.teacher, stage1.generator, ('', ))
    assert _equal(model.generator, stage1.generator, PREFIXES)
    # the new detector keeps its own initialisation
    for k, v in model.generator.state_dict().items():
        if k.startswith('rain_detect.'):
            assert torch.equal(v, detector[k])


def test_resumed_run_reloads_teacher_but_keeps_generator(tmp_path):
    stage1, path = _stage1_checkpoint(tmp_path)
    model = _model('second')
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    LoadStageCheckpointHook(
        path,
        init_prefixes=PREFIXES).before_train(_runner(model, has_loaded=True))
    assert model.teacher_loaded
    assert _equal(model.teacher, stage1.generator, ('', ))
    after = model.generator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_work_dir_resolves_through_last_checkpoint(tmp_path):
    _, path = _stage1_checkpoint(tmp_path)
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(path)
    assert resolve_checkpoint(str(tmp_path)) == path
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='last_checkpoint'):
        resolve_checkpoint(str(empty))
    with pytest.raises(FileNotFoundError, match='train that stage first'):
        resolve_checkpoint(str(tmp_path / 'missing.pth'))


def test_bad_checkpoints_and_prefixes(tmp_path):
    bad = str(tmp_path / 'bad.pth')
    torch.save({'state_dict': {'backbone.w': torch.zeros(1)}}, bad)
    with pytest.raises(KeyError, match='no generator'):
        load_generator_state(bad)
    _, path = _stage1_checkpoint(tmp_path)
    # module. prefixes (DDP) are stripped
    state = torch.load(path, weights_only=True)['state_dict']
    ddp = str(tmp_path / 'ddp.pth')
    torch.save({'state_dict': {'module.' + k: v
                               for k, v in state.items()}}, ddp)
    assert set(load_generator_state(ddp)) == set(load_generator_state(path))

    model = _model('second')
    with pytest.raises(KeyError, match='matches no generator key'):
        LoadStageCheckpointHook(
            path, init_prefixes=('nothing.', )).before_train(_runner(model))
    # the stage-2 detector is not in a stage-1 checkpoint
    with pytest.raises(KeyError, match='has no'):
        LoadStageCheckpointHook(
            path,
            init_prefixes=('rain_detect.', )).before_train(_runner(model))
    wide_path = str(tmp_path / 'wide.pth')
    init_default_scope('mmderain')
    wide = MODELS.build(
        dict(
            type='DLINetDerainer',
            generator=dict(ARCH, stage='first', mid_channels=8)))
    torch.save({'state_dict': wide.state_dict()}, wide_path)
    with pytest.raises(KeyError, match='in the generator'):
        LoadStageCheckpointHook(
            wide_path, teacher=False,
            init_prefixes=PREFIXES).before_train(_runner(model))
    with pytest.raises(TypeError, match='no teacher'):
        LoadStageCheckpointHook(path).before_train(
            _runner(torch.nn.Linear(1, 1)))
    with pytest.raises(ValueError, match='checkpoint'):
        LoadStageCheckpointHook('')
    assert osp.isfile(path)
