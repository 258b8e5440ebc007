# Copyright (c) mmderain contributors. All rights reserved.
"""Official BRN checkpoints (RecDerain, CoIC baseline and BRN_CoIM)."""
import pytest
import torch

from mmderain.models.archs import BRN
from mmderain.models.converters import (convert_official_brn,
                                        convert_official_brn_checkpoint,
                                        convert_official_brn_with_args,
                                        unused_official_units)
from tests._helpers import brn_coim_state, brn_official_state


@pytest.mark.parametrize('unused,prefix', [(True, 'module.'), (False, '')])
def test_convert_official_layouts_round_trip(unused, prefix):
    sd = brn_official_state(c=8, unused=unused, prefix=prefix)
    out = convert_official_brn(sd)
    assert len(out) == 56
    assert torch.equal(out['conv0.weight'], sd[prefix + 'conv0.0.weight'])
    assert torch.equal(out['conv_o_r.bias'], sd[prefix + 'conv_o_r.0.bias'])
    assert torch.equal(out['res_conv5.conv2.weight'],
                       sd[prefix + 'res_conv5.2.weight'])
    assert torch.equal(out['res_conv3_r.conv1.bias'],
                       sd[prefix + 'res_conv3_r.0.bias'])
    BRN(mid_channels=8).load_state_dict(out)  # strict
    # back to the official layout: every official tensor is accounted for
    back = {}
    for k, v in out.items():
        unit, *rest = k.split('.')
        if rest[0] in ('conv1', 'conv2'):
            rest[0] = '0' if rest[0] == 'conv1' else '2'
        else:
            rest.insert(0, '0')
        back[prefix + '.'.join([unit, *rest])] = v
    kept = {
        k: v
        for k, v in sd.items()
        if 'res_conv4_r' not in k and 'res_conv5_r' not in k
    }
    assert set(back) == set(kept)
    assert all(torch.equal(back[k], kept[k]) for k in kept)
    state, args = convert_official_brn_with_args(sd)
    assert args == dict(mid_channels=8) and state.keys() == out.keys()


def test_convert_coim_layout_round_trip():
    sd = brn_coim_state(c=8, code_dim=4)
    wrapped = {f'module.{k}': v for k, v in sd.items()}
    out = convert_official_brn(wrapped)
    assert len(out) == len(sd) == 224
    assert torch.equal(out['conv.weight'],
                       sd['conv.conv.base_conv.conv.weight'])
    assert torch.equal(out['conv_i.g2pa.4.bias'],
                       sd['conv_i.conv.g2pa_wgen.4.bias'])
    assert torch.equal(out['res_conv2_r.conv2.g2pa.0.weight'],
                       sd['res_conv2_r.conv2.g2pa_wgen.0.weight'])
    assert torch.equal(out['res_conv5.conv1.bias'],
                       sd['res_conv5.conv1.base_conv.conv.bias'])
    back = {}
    for k, v in out.items():
        k = k.replace('.g2pa.', '.g2pa_wgen.')
        unit, rest = k.split('.', 1)
        if rest.startswith(('conv1.', 'conv2.')):
            conv, rest = rest.split('.', 1)
            unit = f'{unit}.{conv}'
        else:
            unit = f'{unit}.conv'
        if not rest.startswith('g2pa_wgen.'):
            rest = f'base_conv.conv.{rest}'
        back[f'{unit}.{rest}'] = v
    assert set(back) == set(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_convert_errors_name_keys_and_shapes():
    with pytest.raises(KeyError, match='not an official BRN'):
        convert_official_brn({'head.weight': torch.zeros(1)})
    sd = brn_official_state(c=8, prefix='')
    del sd['conv_g_r.0.bias']
    with pytest.raises(KeyError, match='conv_g_r.0.bias'):
        convert_official_brn(sd)
    sd = brn_official_state(c=8, prefix='')
    sd['extra.0.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='unexpected keys.*extra.0.weight'):
        convert_official_brn(sd)
    sd = brn_official_state(c=8, prefix='')
    sd['conv_f.0.weight'] = torch.zeros(8, 16, 3, 3)
    with pytest.raises(ValueError, match=r"'conv_f.weight'.*\(8, 24, 3, 3\)"):
        convert_official_brn(sd)
    sd = brn_coim_state(c=8)
    del sd['res_conv1.conv2.base_conv.conv.weight']
    with pytest.raises(KeyError, match='res_conv1.conv2.base_conv.conv'):
        convert_official_brn(sd)
    sd = brn_coim_state(c=8)
    del sd['conv_r.conv.g2pa_wgen.2.bias']
    with pytest.raises(KeyError, match='conv_r.g2pa.2.bias'):
        convert_official_brn(sd)
    sd = brn_coim_state(c=8)
    sd['conv_o.conv.g2pa_wgen.4.weight'] = torch.zeros(40, 16)
    with pytest.raises(
            ValueError,
            match=r"'conv_o.g2pa.4.weight'.*\(40, 16\).*"
            r'\(41, 16\)'):
        convert_official_brn(sd)


@pytest.mark.parametrize('layout', ['recderain', 'baseline', 'coim'])
def test_convert_checkpoint_file_meta_and_dropped_units(tmp_path, layout):
    if layout == 'coim':
        sd = brn_coim_state(c=8, code_dim=4)
    else:
        sd = brn_official_state(
            c=8,
            unused=layout == 'recderain',
            prefix='module.' if layout == 'recderain' else '')
    src, dst = tmp_path / 'net_latest.pth', tmp_path / 'sub' / 'brn.pth'
    torch.save(sd if layout != 'baseline' else {'state_dict': sd}, src)
    args, dropped = convert_official_brn_checkpoint(str(src), str(dst))
    expected = convert_official_brn(sd)
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert ckpt['state_dict'].keys() == {f'generator.{k}' for k in expected}
    assert all(
        torch.equal(ckpt['state_dict'][f'generator.{k}'], v)
        for k, v in expected.items())
    modulated = layout == 'coim'
    assert args == (
        dict(mid_channels=8, conv_cfg=dict(type='CoIMConv2d', code_dim=4))
        if modulated else dict(mid_channels=8))
    assert ckpt['meta'] == dict(
        converted_from='net_latest.pth',
        source='Schizophreni/CoIC (BRN_CoIM)'
        if modulated else 'csdwren/RecDerain (or Schizophreni/CoIC baseline)',
        generator=dict(type='BRN', **args))
    assert dropped == (['res_conv4_r', 'res_conv5_r']
                       if layout == 'recderain' else [])
    assert unused_official_units(sd) == dropped


def test_convert_checkpoint_errors_write_nothing(tmp_path):
    dst = tmp_path / 'o.pth'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        convert_official_brn_checkpoint(
            str(tmp_path / 'missing.pth'), str(dst))
    src = tmp_path / 'prenet.pth'
    torch.save({'module.head.weight': torch.zeros(1)}, src)
    with pytest.raises(KeyError, match='not an official BRN'):
        convert_official_brn_checkpoint(str(src), str(dst))
    assert not dst.exists()
