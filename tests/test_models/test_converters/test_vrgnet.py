# Copyright (c) mmderain contributors. All rights reserved.
"""Official hongwang01/VRGNet files into one checkpoint.

The per-network mappings (derainer, ED, critic) are tested beside the
networks in tests/test_models/test_editors/test_vrgnet/.
"""
import pytest
import torch

from mmderain.models.converters import (convert_official_vrgnet_checkpoints,
                                        vrgnet_converter_for)
from mmderain.models.editors.vrgnet.sagan_critic import SAGANCritic
from mmderain.models.editors.vrgnet.variational_prenet import VariationalPReNet
from mmderain.models.editors.vrgnet.vrgnet_encoder import RainEncoder
from mmderain.models.editors.vrgnet.vrgnet_generator import RainGenerator


def _official_derainer(net):
    """``net``'s weights as an official ``DerainNet_state_*.pt``."""
    sd, c = net.state_dict(), net.lstm.channels
    units = {'conv0': 'head', 'conv': 'tail', 'convfinal': 'tail_var'}
    for k in range(net.num_res_blocks):
        units[f'res_conv{k + 1}'] = None
    out = {}
    for unit, ours in units.items():
        for p in ('weight', 'bias'):
            if ours is None:  # residual block: Sequential indices 0 and 2
                k = int(unit[len('res_conv'):]) - 1
                out[f'{unit}.0.{p}'] = sd[f'res_blocks.{k}.conv1.{p}']
                out[f'{unit}.2.{p}'] = sd[f'res_blocks.{k}.conv2.{p}']
            else:
                out[f'{unit}.0.{p}'] = sd[f'{ours}.{p}']
    for j, g in enumerate('ifgo'):
        for p in ('weight', 'bias'):
            out[f'conv_{g}.0.{p}'] = sd[f'lstm.gates.{p}'][j * c:(j + 1) * c]
    return {f'derainet.{k}': v for k, v in out.items()}


def _nets():
    torch.manual_seed(0)
    return dict(
        generator=VariationalPReNet(mid_channels=4),
        rain_encoder=RainEncoder(latent_dim=8, base_channels=4),
        rain_generator=RainGenerator(latent_dim=8, base_channels=4),
        critic=SAGANCritic(conv_dim=8))


def _files(tmp_path, nets):
    derainer = {
        f'module.{k}': v
        for k, v in _official_derainer(nets['generator']).items()
    }
    ed = {
        f'encoder.{k}': v
        for k, v in nets['rain_encoder'].state_dict().items()
    }
    ed.update({
        f'decoder.{k}': v
        for k, v in nets['rain_generator'].state_dict().items()
    })
    files = {}
    for name, sd in (('DerainNet_state_700.pt', derainer),
                     ('ED_state_700.pt', ed), ('D_state_700.pt',
                                               nets['critic'].state_dict())):
        files[name] = tmp_path / name
        torch.save(sd, files[name])
    return files


def test_every_part_into_one_checkpoint(tmp_path):
    nets = _nets()
    files = _files(tmp_path, nets)
    dst = tmp_path / 'sub' / 'vrgnet.pth'
    archs = convert_official_vrgnet_checkpoints(
        [str(p) for p in files.values()], str(dst))
    ed_args = dict(latent_dim=8, base_channels=4, image_size=64)
    assert archs == dict(
        generator=dict(
            type='VariationalPReNet',
            num_stages=6,
            mid_channels=4,
            num_res_blocks=5,
            in_channels=3),
        rain_encoder=dict(type='RainEncoder', **ed_args),
        rain_generator=dict(type='RainGenerator', **ed_args),
        critic=dict(type='SAGANCritic', image_size=64, conv_dim=8))
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta'] == dict(
        converted_from=list(files), source='hongwang01/VRGNet', **archs)
    sd = ckpt['state_dict']
    for part, net in nets.items():
        ours = {
            k[len(part) + 1:]: v
            for k, v in sd.items() if k.startswith(part + '.')
        }
        assert ours.keys() == net.state_dict().keys(), part
        for k, v in net.state_dict().items():
            assert torch.equal(ours[k], v), (part, k)


def test_files_are_recognised_by_their_keys(tmp_path):
    files = _files(tmp_path, _nets())
    parts = {}
    for name, path in files.items():
        sd = torch.load(path, map_location='cpu', weights_only=True)
        parts[name] = sorted(vrgnet_converter_for(sd, name)(sd))
    assert parts == {
        'DerainNet_state_700.pt': ['generator'],
        'ED_state_700.pt': ['rain_encoder', 'rain_generator'],
        'D_state_700.pt': ['critic']
    }
    with pytest.raises(KeyError, match='model.pt is not an official VRGNet'):
        vrgnet_converter_for({'backbone.0.weight': torch.zeros(1)}, 'model.pt')


def test_duplicate_parts_and_missing_files_write_nothing(tmp_path):
    files = _files(tmp_path, _nets())
    dst = tmp_path / 'out.pth'
    ed = str(files['ED_state_700.pt'])
    with pytest.raises(KeyError, match='both hold the VRGNet rain_encoder'):
        convert_official_vrgnet_checkpoints([ed, ed], str(dst))
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        convert_official_vrgnet_checkpoints([str(tmp_path / 'missing.pt')],
                                            str(dst))
    assert not dst.exists()
