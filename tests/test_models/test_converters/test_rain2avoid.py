# Copyright (c) mmderain contributors. All rights reserved.
"""Official Rain2Avoid checkpoints (``model.pkl`` and bare backbone state
dicts) to :class:`R2AUNet`, :class:`R2AResNet` and :class:`DnCNN` (the
tool and the parity with the official outputs:
``tests/test_tools/test_convert_rain2avoid.py``)."""
import pytest
import torch

from mmderain.models.archs import DnCNN, R2AResNet, R2AUNet
from mmderain.models.converters import (convert_official_rain2avoid,
                                        convert_official_rain2avoid_checkpoint,
                                        load_official_rain2avoid,
                                        rain2avoid_our_key)
from mmderain.utils.safe_loading import CheckpointError
from tests._helpers import r2a_fixture, r2a_fixture_maker

#: torchvision resnet18 children, in order (the official ``resnet.<i>``).
_CHILDREN = ('conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3',
             'layer4')
_DOWN = {
    'conv1': 'down1.0',
    'bn1': 'down1.1',
    'layer1': 'down2.1',
    'layer2': 'down3',
    'layer3': 'down4',
    'layer4': 'down5.0'
}


def official_resnet_state(net):
    """The official ``ResNet`` state-dict layout of our weights: every
    encoder tensor under ``resnet18.*``, ``resnet.<i>.*`` and ``down*``,
    the classifier ``resnet18.fc``, the decoder as ``upK.main.0.*``."""
    sd = net.state_dict()
    enc = {k: v for k, v in sd.items() if not k.startswith('up')}
    out = {f'resnet18.{k}': v for k, v in enc.items()}
    out['resnet18.fc.weight'] = torch.zeros(1000, 512)
    out['resnet18.fc.bias'] = torch.zeros(1000)
    for k, v in enc.items():
        head, rest = k.split('.', 1)
        out[f'resnet.{_CHILDREN.index(head)}.{rest}'] = v
    for k, v in enc.items():
        head, rest = k.split('.', 1)
        out[f'{_DOWN[head]}.{rest}'] = v
    for k, v in sd.items():
        if k.startswith('up'):
            unit, param = k.split('.')
            out[f'{unit}.main.0.{param}'] = v
    return out


def _same(a, b):
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_unet_identity_and_prefix():
    net = R2AUNet()
    sd = net.state_dict()
    state, gen, dropped = convert_official_rain2avoid(sd)
    _same(state, sd)
    assert gen == dict(type='R2AUNet', in_channels=3) and dropped == []
    state, _, _ = convert_official_rain2avoid(
        {f'module.{k}': v
         for k, v in sd.items()})
    _same(state, sd)
    one = R2AUNet(in_channels=1).state_dict()
    assert convert_official_rain2avoid(one)[1] == dict(
        type='R2AUNet', in_channels=1)


def test_resnet_layout():
    torch.manual_seed(0)
    net = R2AResNet()
    official = official_resnet_state(net)
    assert len(official) == 372  # as the official module's state dict
    # the forward uses down*: those win over the aliases
    official['resnet18.conv1.weight'] = torch.zeros(64, 3, 7, 7)
    state, gen, dropped = convert_official_rain2avoid(official, 'r.pth')
    assert gen == dict(type='R2AResNet')
    assert dropped == [
        'resnet18.fc (never used)', 'resnet18.*, resnet.* (aliases of down*)'
    ]
    _same(state, net.state_dict())
    assert rain2avoid_our_key('R2AResNet', 'down5.0.1.bn2.bias') == \
        'layer4.1.bn2.bias'
    assert rain2avoid_our_key('R2AResNet', 'resnet.7.0.conv1.weight') is None
    aliases_only = {
        k: v
        for k, v in official.items() if k.startswith('resnet18.')
    }
    with pytest.raises(CheckpointError, match="without its 'down"):
        convert_official_rain2avoid(aliases_only, 'r.pth')


def test_dncnn_layout():
    net = DnCNN(in_channels=1, num_layers=5, mid_channels=8)
    official = {
        'dncnn.' + k[len('layers.'):]: v
        for k, v in net.state_dict().items()
    }
    state, gen, dropped = convert_official_rain2avoid(official)
    assert gen == dict(
        type='DnCNN', in_channels=1, num_layers=5, mid_channels=8)
    _same(state, net.state_dict())
    full = {
        'dncnn.' + k[len('layers.'):]: v
        for k, v in DnCNN().state_dict().items()
    }
    assert convert_official_rain2avoid(full)[1] == dict(
        type='DnCNN', in_channels=3, num_layers=17, mid_channels=64)


def test_state_dict_errors():
    sd = R2AUNet().state_dict()
    with pytest.raises(
            CheckpointError,
            match=r"x\.pth is not an official Rain2Avoid.*"
            r"'enc_1\.conv\.weight'"):
        convert_official_rain2avoid({'conv0.0.weight': torch.zeros(1)},
                                    'x.pth')
    missing = {k: v for k, v in sd.items() if k != 'dec_1.conv.bias'}
    with pytest.raises(
            CheckpointError,
            match=r'x\.pth.*missing keys \[dec_1\.conv\.bias\]'):
        convert_official_rain2avoid(missing, 'x.pth')
    extra = dict(sd, **{'dec_0.conv.weight': torch.zeros(1)})
    with pytest.raises(
            CheckpointError, match=r'unexpected keys \[dec_0\.conv\.weight\]'):
        convert_official_rain2avoid(extra, 'x.pth')
    bad = dict(sd, **{'dec_4.conv.weight': torch.zeros(256, 767, 3, 3)})
    with pytest.raises(
            CheckpointError, match=r"'dec_4\.conv\.weight' has shape"):
        convert_official_rain2avoid(bad, 'x.pth')


def test_load_official_files(tmp_path):
    maker = r2a_fixture_maker()
    net = R2AUNet()
    pkl = tmp_path / 'model.pkl'
    maker.save_model_pkl(net, str(pkl))
    sd, others = load_official_rain2avoid(str(pkl))
    _same(sd, net.state_dict())
    assert others == ['optimizer', 'scheduler']
    bare = tmp_path / 'bare.pth'
    torch.save(net.state_dict(), bare)
    assert load_official_rain2avoid(str(bare))[1] == []
    wrapped = tmp_path / 'wrapped.pth'
    torch.save({'state_dict': net.state_dict(), 'epoch': 3}, wrapped)
    assert load_official_rain2avoid(str(wrapped))[1] == ['epoch']

    official = torch.load(pkl, weights_only=True)
    no_model = tmp_path / 'no_model.pkl'
    torch.save({k: official[k] for k in ('optimizer', 'scheduler')}, no_model)
    with pytest.raises(
            CheckpointError, match=r"no_model\.pkl has no 'model' entry"):
        load_official_rain2avoid(str(no_model))
    not_sd = tmp_path / 'not_sd.pkl'
    torch.save(dict(official, model=official['optimizer']), not_sd)
    with pytest.raises(
            CheckpointError,
            match=r"not_sd\.pkl: entry 'model' holds no state"):
        load_official_rain2avoid(str(not_sd))
    pickled = tmp_path / 'whole_model.pkl'
    torch.save(net, pickled)  # a pickled module: code, refused
    with pytest.raises(CheckpointError, match='whole_model.pkl'):
        load_official_rain2avoid(str(pickled))
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        load_official_rain2avoid(str(tmp_path / 'nope.pkl'))


def test_checkpoint_never_overwrites_its_input(tmp_path):
    src = tmp_path / 'model.pth'
    torch.save(R2AUNet().state_dict(), src)
    before = src.read_bytes()
    with pytest.raises(ValueError, match='is the input file'):
        convert_official_rain2avoid_checkpoint(str(src), str(src))
    assert src.read_bytes() == before
    bad = tmp_path / 'bad.pth'
    torch.save({'conv0.0.weight': torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError, match='bad.pth'):
        convert_official_rain2avoid_checkpoint(
            str(bad), str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()


def test_official_key_sets():
    """The key lists of the official networks (written by the official code
    into the parity fixtures) map onto ours exactly."""
    unet, backbones = r2a_fixture('unet'), r2a_fixture('backbones')
    with torch.device('meta'):
        nets = dict(R2AUNet=R2AUNet(), R2AResNet=R2AResNet(), DnCNN=DnCNN())
    cases = (('R2AUNet', unet['keys']), ('R2AResNet',
                                         backbones['resnet_keys']),
             ('DnCNN', backbones['dncnn_keys']))
    for arch, keys in cases:
        mapped = [rain2avoid_our_key(arch, str(k)) for k in keys]
        assert [k for k in mapped if k] == list(nets[arch].state_dict()), arch
    assert len(backbones['resnet_keys']) == 372
