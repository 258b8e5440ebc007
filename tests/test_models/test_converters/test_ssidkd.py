# Copyright (c) mmderain contributors. All rights reserved.
"""Official SSID-KD checkpoints (``net_latest``) to :class:`SSIDKDNet`, and
parity with the official ``ODE_DerainNet``'s outputs
(``tests/data/ssidkd_parity.npz``, written by
``tests/data/make_ssidkd_fixture.py`` from the official code)."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

from mmderain.models.converters import (convert_official_ssidkd,
                                        convert_official_ssidkd_checkpoint,
                                        load_official_ssidkd, ssidkd_our_key)
from mmderain.models.editors.ssidkd import SSIDKDNet
from mmderain.utils.safe_loading import CheckpointError
from tests._helpers import TEST_DATA, run_tool


def _maker():
    path = osp.join(TEST_DATA, 'make_ssidkd_fixture.py')
    spec = importlib.util.spec_from_file_location('ssidkd_fixture_maker', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _maker()


@pytest.fixture(scope='module')
def fixture():
    with np.load(
            osp.join(TEST_DATA, 'ssidkd_parity.npz'),
            allow_pickle=False) as fix:
        return dict(fix)


@pytest.fixture(scope='module')
def official_sd(fixture):
    """The fixture's official state dict (``module.`` prefix, aliases
    sharing one tensor), rebuilt without the official code."""
    keys = MAKER.decode_keys(fixture['keys'])
    shapes = MAKER.decode_shapes(fixture['shapes'])
    return MAKER.official_weights(keys, shapes)


def _net_latest(sd, path):
    """Write ``sd`` as the official training does (``net_latest``)."""
    opt = dict(
        state={},
        param_groups=[
            dict(
                lr=5e-4,
                betas=(0.9, 0.999),
                eps=1e-8,
                weight_decay=0,
                amsgrad=False,
                params=list(range(3)))
        ])
    torch.save(dict(net=sd, clock_net=400, opt_net=opt), path)
    return str(path)


def test_fixture_layout(official_sd):
    """2,204 official entries, aliases included; 4,433,779 unique values."""
    assert len(official_sd) == 2204
    assert all(k.startswith('module.') for k in official_sd)
    unique = {v.data_ptr(): v.numel() for v in official_sd.values()}
    assert sum(unique.values()) == 4433779
    assert sum(v.numel() for v in official_sd.values()) == 14158003


def test_key_mapping_examples():
    unit = 'encoder_decoder_1.deLayer_1.units.7.unit.'
    assert ssidkd_our_key(unit + '0.scale8.3.0.weight') == (
        'ed1.dec1.unit.iscb.branch8.3.weight', 7)
    assert ssidkd_our_key(unit + '0.fusion_all.0.bias') == (
        'ed1.dec1.unit.iscb.merge_all.bias', 7)
    assert ssidkd_our_key(unit + '1.conv_5_2.weight') == (
        'ed1.dec1.unit.msfb.conv5_2.weight', 7)
    assert ssidkd_our_key(unit + '1.confusion.bias') == (
        'ed1.dec1.unit.msfb.fuse.bias', 7)
    assert ssidkd_our_key('encoder_decoder_2.enLayer_4.conv1x1.1.0.weight') \
        == ('ed2.enc4.fusions.1.weight', -1)
    assert ssidkd_our_key('encoder_decoder_1.catLayer_3.0.bias') == (
        'ed1.merge_4to2.bias', -1)
    assert ssidkd_our_key('head.convLayer_4.0.weight') == ('head.2.weight', -1)
    assert ssidkd_our_key('tail.catLayer.0.bias') == ('tail.bias', -1)


def test_parity_with_official_outputs(tmp_path, fixture, official_sd):
    """Official checkpoint file -> tool -> SSIDKDNet (strict load): the
    official outputs within 1e-5, at 32x40 and at the odd 37x45."""
    src = _net_latest(official_sd, tmp_path / 'net_latest')
    dst = str(tmp_path / 'converted.pth')
    generator = run_tool('convert/ssidkd.py', [src, dst])
    assert generator == dict(
        type='SSIDKDNet', channels=[24, 32, 48], num_units=[10, 4, 2])
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['source'] == 'cuiyixin555/SSID-KD'
    assert ckpt['meta']['generator'] == generator
    assert ckpt['meta']['converted_from'] == 'net_latest'
    state = {k[len('generator.'):]: v for k, v in ckpt['state_dict'].items()}
    assert all(k.startswith('generator.') for k in ckpt['state_dict'])
    net = SSIDKDNet().eval()
    net.load_state_dict(state, strict=True)
    assert sum(v.numel() for v in state.values()) == 4433779
    for i in range(2):
        x = torch.from_numpy(fixture[f'input_{i}'])
        with torch.no_grad():
            outs = net(x)
        for name, out in zip(('derain', 'rain', 'code'), outs):
            want = torch.from_numpy(fixture[f'{name}_{i}'])
            assert out.shape == want.shape, name
            err = (out - want).abs().max().item()
            assert err < 1e-5, f'{name}_{i}: max error {err:.2e}'


def test_bare_state_dict_without_prefix(official_sd):
    bare = {k[len('module.'):]: v for k, v in official_sd.items()}
    state, generator = convert_official_ssidkd(bare)
    assert len(state) == 554
    assert generator['num_units'] == [10, 4, 2]
    key = 'ed1.enc1.unit.msfb.conv3_1.weight'
    assert torch.equal(
        state[key],
        bare['encoder_decoder_1.enLayer_1.units.0.unit.1.conv_3_1.weight'])


def test_load_official_entries(tmp_path, official_sd):
    src = _net_latest(official_sd, tmp_path / 'net_latest')
    sd, others = load_official_ssidkd(src)
    assert len(sd) == 2204 and others == ['clock_net', 'opt_net']
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(CheckpointError, match='list.pth holds a list'):
        load_official_ssidkd(str(tmp_path / 'list.pth'))
    torch.save(dict(clock_net=1), tmp_path / 'nonet.pth')
    with pytest.raises(CheckpointError, match="no 'net' entry"):
        load_official_ssidkd(str(tmp_path / 'nonet.pth'))


def _copy(sd):
    """A copy whose aliases are distinct tensors (equal values)."""
    return {k: v.clone() for k, v in sd.items()}


def test_unequal_aliases_named(official_sd):
    sd = _copy(official_sd)
    key = ('module.encoder_decoder_2.deLayer_2.units.3.unit.0.scale2.1.0.'
           'weight')
    sd[key][0, 0, 0, 0] += 1e-3
    with pytest.raises(CheckpointError) as err:
        convert_official_ssidkd(sd, 'net_latest')
    assert f"'{key[len('module.'):]}'" in str(err.value)
    assert 'shared' in str(err.value) and 'net_latest' in str(err.value)


def test_wrong_shape_named(official_sd):
    sd = _copy(official_sd)
    for k in list(sd):
        if '.units.' in k and k.endswith('unit.1.confusion.bias'):
            sd[k] = torch.zeros(5)  # every alias, so they agree
    with pytest.raises(CheckpointError, match='shape mismatch') as err:
        convert_official_ssidkd(sd, 'net_latest')
    assert "'ed1.enc1.unit.msfb.fuse.bias' has shape (5,)" in str(err.value)


def test_missing_key_named(official_sd):
    sd = _copy(official_sd)
    del sd['module.encoder_decoder_4.enLayer_4.conv1x1.0.0.bias']
    with pytest.raises(CheckpointError, match='missing keys') as err:
        convert_official_ssidkd(sd, 'net_latest')
    assert 'ed4.enc4.fusions.0.bias' in str(err.value)


def test_unknown_key_named(official_sd):
    sd = _copy(official_sd)
    sd['module.encoder_decoder_1.extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match='unexpected keys') as err:
        convert_official_ssidkd(sd)
    assert 'encoder_decoder_1.extra.weight' in str(
        err.value) or ('ed1.extra.weight' in str(err.value))


def test_not_ssidkd(tmp_path):
    with pytest.raises(CheckpointError, match='not an official SSID-KD'):
        convert_official_ssidkd({'conv.weight': torch.zeros(1)})


def test_never_overwrites_input(tmp_path, official_sd):
    src = _net_latest(official_sd, tmp_path / 'net_latest')
    with pytest.raises(ValueError, match='is the input file'):
        convert_official_ssidkd_checkpoint(src, src)
