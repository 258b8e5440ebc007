# Copyright (c) mmderain contributors. All rights reserved.
"""tools/convert/vrgnet.py on the official VRGNet derainer checkpoints."""
import os.path as osp

import pytest
import torch

from mmderain.models.editors.vrgnet.sagan_critic import SAGANCritic
from mmderain.models.editors.vrgnet.variational_prenet import VariationalPReNet
from mmderain.models.editors.vrgnet.vrgnet_encoder import RainEncoder
from mmderain.models.editors.vrgnet.vrgnet_generator import RainGenerator
from tests._helpers import run_tool

NAMES = ('syn100l', 'syn100h', 'syn1400', 'spa')


def _official_forward(sd, x):
    """VRGNet ``prenet.py``'s forward on the official weights (6 stages)."""
    import torch.nn.functional as F

    def conv(name, t):
        return F.conv2d(
            t,
            sd[f'derainet.{name}.0.weight'],
            sd[f'derainet.{name}.0.bias'],
            padding=1)

    h = x.new_zeros(x.shape[0], 32, *x.shape[2:])
    c = torch.zeros_like(h)
    out = x
    for stage in range(6):
        f = F.relu(conv('conv0', torch.cat([x, out], 1)))
        z = torch.cat([f, h], 1)
        c = (
            torch.sigmoid(conv('conv_f', z)) * c +
            torch.sigmoid(conv('conv_i', z)) * torch.tanh(conv('conv_g', z)))
        h = torch.sigmoid(conv('conv_o', z)) * torch.tanh(c)
        f = h
        for k in range(1, 6):
            r = F.relu(
                F.conv2d(
                    F.relu(
                        F.conv2d(
                            f,
                            sd[f'derainet.res_conv{k}.0.weight'],
                            sd[f'derainet.res_conv{k}.0.bias'],
                            padding=1)),
                    sd[f'derainet.res_conv{k}.2.weight'],
                    sd[f'derainet.res_conv{k}.2.bias'],
                    padding=1))
            f = F.relu(r + f)
        if stage < 5:
            out = conv('conv', f) + x
    final = conv('convfinal', f)
    return final[:, :3] + x, final[:, 3:]


@pytest.mark.parametrize('name', NAMES)
def test_convert_official_derainer(data_root, tmp_path, capsys, name):
    src = osp.join(data_root, 'checkpoints_official', 'vrgnet',
                   f'DerainNet_{name}.pt')
    if not osp.isfile(src):
        pytest.fail(f'missing reference checkpoint {src}')
    dst = tmp_path / 'converted.pth'
    archs = run_tool('convert/vrgnet.py', [src, str(dst)])
    args = dict(num_stages=6, mid_channels=32, num_res_blocks=5, in_channels=3)
    assert archs == dict(generator=dict(type='VariationalPReNet', **args))
    assert "quantize='trunc'" in capsys.readouterr().out

    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert ckpt['meta']['generator'] == dict(type='VariationalPReNet', **args)
    assert ckpt['meta']['source'] == 'hongwang01/VRGNet'
    assert ckpt['meta']['converted_from'] == [osp.basename(src)]
    assert all(k.startswith('generator.') for k in ckpt['state_dict'])
    net = VariationalPReNet(**args)
    net.load_state_dict({k[10:]: v
                         for k, v in ckpt['state_dict'].items()},
                        strict=True)
    assert sum(p.numel() for p in net.parameters()) == 170_697

    official = torch.load(src, map_location='cpu', weights_only=True)
    assert len(official) == 34
    assert sum(v.numel() for v in official.values()) == 170_697
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    mu_ref, logvar_ref = _official_forward(official, x)
    with torch.inference_mode():
        mu, logvar = net(x, return_logvar=True)
    assert (mu - mu_ref).abs().max() < 1e-5
    assert (logvar - logvar_ref).abs().max() < 1e-4


def _official_ed_and_critic(image_size):
    """Our encoder/generator/critic saved under the official key layout."""
    torch.manual_seed(0)
    conv_dim = 64 if image_size == 64 else 16
    enc = RainEncoder(latent_dim=16, base_channels=8, image_size=image_size)
    gen = RainGenerator(latent_dim=16, base_channels=8, image_size=image_size)
    critic = SAGANCritic(image_size=image_size, conv_dim=conv_dim)
    ed = {f'module.encoder.{k}': v for k, v in enc.state_dict().items()}
    ed.update({f'module.decoder.{k}': v for k, v in gen.state_dict().items()})
    return enc, gen, critic, ed, dict(critic.state_dict())


@pytest.mark.parametrize('image_size', [64, 256])
def test_convert_ed_and_critic(tmp_path, image_size):
    enc, gen, critic, ed, d = _official_ed_and_critic(image_size)
    torch.save(ed, tmp_path / 'ED_state_700.pt')
    torch.save(d, tmp_path / 'D_state_700.pt')
    dst = tmp_path / 'sub' / 'vrgnet.pth'
    archs = run_tool('convert/vrgnet.py', [
        str(tmp_path / 'ED_state_700.pt'),
        str(tmp_path / 'D_state_700.pt'),
        str(dst)
    ])
    args = dict(latent_dim=16, base_channels=8, image_size=image_size)
    assert archs == dict(
        rain_encoder=dict(type='RainEncoder', **args),
        rain_generator=dict(type='RainGenerator', **args),
        critic=dict(
            type='SAGANCritic',
            image_size=image_size,
            conv_dim=64 if image_size == 64 else 16))
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['rain_generator'] == archs['rain_generator']
    sd = ckpt['state_dict']
    for part, net in (('rain_encoder', enc), ('rain_generator', gen),
                      ('critic', critic)):
        ours = {
            k[len(part) + 1:]: v
            for k, v in sd.items() if k.startswith(part + '.')
        }
        assert ours.keys() == net.state_dict().keys()
        for k, v in net.state_dict().items():
            assert torch.equal(ours[k], v), (part, k)

    # the generation API reads the converted generator
    from mmderain.apis.rain_generation import load_subnetwork
    loaded = load_subnetwork(
        str(dst), dict(archs['rain_generator']), 'rain_generator.')
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert torch.equal(loaded(z), gen.eval()(z))


def test_refuses_unknown_and_duplicate_checkpoints(tmp_path):
    src = tmp_path / 'model.pt'
    torch.save({'backbone.0.weight': torch.zeros(3)}, src)
    with pytest.raises(KeyError, match='not an official VRGNet checkpoint'):
        run_tool('convert/vrgnet.py', [str(src), str(tmp_path / 'out.pth')])
    assert not osp.exists(tmp_path / 'out.pth')

    _, _, _, ed, _ = _official_ed_and_critic(64)
    torch.save(ed, tmp_path / 'ED.pt')
    with pytest.raises(KeyError, match='both hold the VRGNet rain_encoder'):
        run_tool('convert/vrgnet.py', [
            str(tmp_path / 'ED.pt'),
            str(tmp_path / 'ED.pt'),
            str(tmp_path / 'out.pth')
        ])
    assert not osp.exists(tmp_path / 'out.pth')
    with pytest.raises(FileNotFoundError):
        run_tool('convert/vrgnet.py',
                 [str(tmp_path / 'missing.pt'),
                  str(tmp_path / 'out.pth')])
    with pytest.raises(SystemExit):
        run_tool('convert/vrgnet.py', [str(tmp_path / 'out.pth')])
