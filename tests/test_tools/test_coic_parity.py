# Copyright (c) mmderain contributors. All rights reserved.
"""Official CoIC BRN weights, converted, reproduce the official modules.

``tests/data/coic_parity_small.pth`` (``brn`` entry) holds the outputs of
the official ``BRN_CoIM`` (Schizophreni/CoIC commit 8c99e73, CPU) on a
seeded 1x3x24x24 input: with ``checkpoints/CoIC/brn_model.pth``
(``brn_coic.pth`` here) and a fixed unit code ``z`` (``mode='tran'``) and
without a code (``mode='normal'``), and with the remapped
``checkpoints/Baseline/brn_model.pth`` (``brn_baseline.pth``) in
``mode='normal'``. How the fixture was made is described in
``tests/test_ops/test_modulated_conv.py``. Here the checkpoints go through
``tools/convert/brn.py`` and the converted files are loaded by
``CoICDerainer`` (CoIC) and ``BaseDerainer`` + plain ``BRN`` (baseline).
"""
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from mmderain.models.editors.coic import modulation_code
from mmderain.registry import MODELS
from tests._helpers import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURE = osp.join(ROOT, 'tests', 'data', 'coic_parity_small.pth')


def _convert(data_root, name, tmp_path):
    src = osp.join(data_root, 'checkpoints_official', 'coic', name)
    if not osp.isfile(src):
        pytest.fail(f'official checkpoint missing: {src}')
    out = str(tmp_path / f'converted_{name}')
    run_tool('convert/brn.py', [src, out])
    return torch.load(out, map_location='cpu', weights_only=True)


@pytest.fixture(scope='module')
def fixture():
    return torch.load(FIXTURE, map_location='cpu', weights_only=True)['brn']


def test_coic_brn_matches_official(data_root, tmp_path, fixture):
    init_default_scope('mmderain')
    ckpt = _convert(data_root, 'brn_coic.pth', tmp_path)
    model = MODELS.build(
        dict(
            type='CoICDerainer',
            generator=dict(
                type='BRN',
                num_iters=8,
                conv_cfg=dict(type='CoIMConv2d', code_dim=128)),
            encoder=dict(type='MomentumEncoder'),
            pixel_loss=dict(type='SSIMLoss'),
            contrastive_loss=dict(type='CoICContrastiveLoss')))
    missing, unexpected = model.load_state_dict(
        ckpt['state_dict'], strict=False)
    assert not unexpected
    assert all(k.startswith('encoder.') for k in missing)  # no brn_enc.pth
    model.eval()
    x, z = fixture['input'], fixture['z']
    with torch.no_grad():
        with modulation_code(model.generator, z):
            tran = model.generator(x)
        normal = model.generator(x)
    assert (tran - fixture['out_tran']).abs().max() < 1e-5
    assert (normal - fixture['out_normal']).abs().max() < 1e-5


def test_coic_baseline_brn_matches_official(data_root, tmp_path, fixture):
    init_default_scope('mmderain')
    ckpt = _convert(data_root, 'brn_baseline.pth', tmp_path)
    model = MODELS.build(
        dict(
            type='BaseDerainer',
            generator=dict(type='BRN', num_iters=8),
            pixel_loss=dict(type='SSIMLoss')))
    model.load_state_dict(ckpt['state_dict'])
    with torch.no_grad():
        out = model.eval().generator(fixture['input'])
    assert (out - fixture['out_baseline_normal']).abs().max() < 1e-5
