# Copyright (c) mmderain contributors. All rights reserved.
"""Official lwcbbd/DLINet_2023TIP checkpoints."""
import pytest
import torch

from mmderain.models.converters import (convert_official_dlinet,
                                        convert_official_dlinet_checkpoint)
from mmderain.models.editors.dlinet.dlinet_net import DLINet


def test_convert_round_trip_and_rejection():
    net = DLINet(num_masks=3, num_msa_blocks=2, mid_channels=8, stage='first')
    sd = net.state_dict()
    state, args = convert_official_dlinet(
        {f'module.{k}': v
         for k, v in sd.items()})
    assert args == dict(
        num_masks=3, num_msa_blocks=2, mid_channels=8, stage='first')
    assert state.keys() == sd.keys()
    assert all(torch.equal(state[k], sd[k]) for k in sd)
    with pytest.raises(KeyError, match='not an official DLINet'):
        convert_official_dlinet({'conv0.0.weight': torch.zeros(1)})
    extra = dict(sd, **{'rain_detect.extra.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='unexpected'):
        convert_official_dlinet(extra)
    missing = {k: v for k, v in sd.items() if 'fusion_list.1.' not in k}
    with pytest.raises(KeyError, match='missing'):
        convert_official_dlinet(missing)


def test_convert_checkpoint_file(tmp_path):
    net = DLINet(num_masks=2, num_msa_blocks=1, mid_channels=4)
    src, dst = tmp_path / 'model_best.pt', tmp_path / 'out.pth'
    torch.save({f'model.{k}': v for k, v in net.state_dict().items()}, src)
    args = convert_official_dlinet_checkpoint(str(src), str(dst))
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta'] == dict(
        converted_from='model_best.pt',
        source='lwcbbd/DLINet_2023TIP',
        generator=dict(type='DLINet', **args))
    assert args['stage'] == 'second'
    assert ckpt['state_dict'].keys() == {
        f'generator.{k}'
        for k in net.state_dict()
    }
    with pytest.raises(FileNotFoundError, match='nope.pt'):
        convert_official_dlinet_checkpoint(
            str(tmp_path / 'nope.pt'), str(tmp_path / 'o.pth'))
    assert not (tmp_path / 'o.pth').exists()
