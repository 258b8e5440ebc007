# Copyright (c) mmderain contributors. All rights reserved.
"""tools/convert/brn.py on synthetic and (with MMDERAIN_DATA) official
files (the conversion itself: tests/test_models/test_converters/)."""
import os.path as osp

import pytest
import torch

from mmderain.models.archs import BRN
from mmderain.models.converters import convert_official_brn
from mmderain.registry import MODELS
from tests._helpers import brn_coim_state, brn_official_state, run_tool


def _load(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert all(k.startswith('generator.') for k in ckpt['state_dict'])
    return {k[len('generator.'):]: v
            for k, v in ckpt['state_dict'].items()}, ckpt['meta']


def test_convert_recderain_layout(tmp_path, capsys):
    sd = brn_official_state(c=8)  # module. prefix, unused res_conv{4,5}_r
    src = tmp_path / 'net_latest.pth'
    torch.save(sd, src)
    dst = tmp_path / 'out' / 'brn.pth'
    gen = run_tool('convert/brn.py', [str(src), str(dst)])
    assert gen == dict(mid_channels=8)
    out = capsys.readouterr().out
    assert 'dropped res_conv4_r, res_conv5_r' in out
    assert 'configs/brn/brn_t8_b12-p100-100e_<dataset>.py' in out
    state, meta = _load(dst)
    assert meta == dict(
        converted_from='net_latest.pth',
        source='csdwren/RecDerain (or Schizophreni/CoIC baseline)',
        generator=dict(type='BRN', mid_channels=8))
    expected = convert_official_brn(sd)
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], v) for k, v in expected.items())
    BRN(num_iters=2, mid_channels=8).load_state_dict(state)


def test_convert_wrapped_state_dict(tmp_path, capsys):
    """A dict holding the weights under 'state_dict', no prefix."""
    sd = brn_official_state(c=4, unused=False, prefix='')
    src = tmp_path / 'brn_model.pth'
    torch.save({'state_dict': sd}, src)
    dst = tmp_path / 'brn.pth'
    assert run_tool('convert/brn.py',
                    [str(src), str(dst)]) == dict(mid_channels=4)
    assert 'dropped' not in capsys.readouterr().out
    BRN(mid_channels=4).load_state_dict(_load(dst)[0])


def test_convert_coim_layout(tmp_path, capsys):
    sd = brn_coim_state(c=8, code_dim=4)
    src = tmp_path / 'brn_model.pth'
    torch.save(sd, src)
    dst = tmp_path / 'brn_coic.pth'
    gen = run_tool('convert/brn.py', [str(src), str(dst)])
    cfg = dict(type='CoIMConv2d', code_dim=4)
    assert gen == dict(mid_channels=8, conv_cfg=cfg)
    assert 'conv_cfg=' in capsys.readouterr().out
    state, meta = _load(dst)
    assert meta['generator'] == dict(type='BRN', mid_channels=8, conv_cfg=cfg)
    assert meta['source'] == 'Schizophreni/CoIC (BRN_CoIM)'
    assert len(state) == 224
    assert torch.equal(state['conv_g_r.g2pa.2.weight'],
                       sd['conv_g_r.conv.g2pa_wgen.2.weight'])


def test_convert_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        run_tool('convert/brn.py',
                 [str(tmp_path / 'missing.pth'),
                  str(tmp_path / 'o.pth')])
    src = tmp_path / 'prenet.pth'
    torch.save({'module.head.weight': torch.zeros(1)}, src)
    with pytest.raises(KeyError, match='not an official BRN'):
        run_tool('convert/brn.py', [str(src), str(tmp_path / 'o.pth')])
    assert not (tmp_path / 'o.pth').exists()


@pytest.mark.parametrize('name,tensors,modulated',
                         [('brn/BRN_rain100l.pth', 64, False),
                          ('coic/brn_baseline.pth', 56, False),
                          ('coic/brn_coic.pth', 224, True)])
def test_convert_official_files(data_root, tmp_path, name, tensors, modulated):
    src = osp.join(data_root, 'checkpoints_official', name)
    if not osp.isfile(src):
        pytest.fail(f'missing reference checkpoint {src}')
    official = torch.load(src, map_location='cpu', weights_only=True)
    assert len(official) == tensors
    dst = tmp_path / 'brn.pth'
    gen = run_tool('convert/brn.py', [src, str(dst)])
    state, _ = _load(dst)
    if not modulated:
        assert gen == dict(mid_channels=32)
        net = BRN()
        net.load_state_dict(state)
        assert sum(p.numel() for p in net.parameters()) == 375_526
        return
    assert gen == dict(
        mid_channels=32, conv_cfg=dict(type='CoIMConv2d', code_dim=128))
    assert len(state) == 224
    assert sum(v.numel() for v in state.values()) == 580_749
    if 'CoIMConv2d' not in MODELS.module_dict:
        pytest.skip('CoIMConv2d is not available')
    BRN(conv_cfg=gen['conv_cfg']).load_state_dict(state)
