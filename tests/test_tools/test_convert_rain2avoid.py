# Copyright (c) mmderain contributors. All rights reserved.
"""tools/convert/rain2avoid.py: an official ``model.pkl`` converted and
loaded strictly gives the official UNet's outputs
(``tests/data/rain2avoid_unet_parity.npz``, written by
``tests/data/make_rain2avoid_unet_fixture.py`` from the official code);
unconverted official files are refused with the command that converts
them (the conversion itself: tests/test_models/test_converters/)."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mmderain.models.archs import R2AUNet
from mmderain.registry import MODELS
from mmderain.utils.safe_loading import CheckpointError, load_weights
from tests._helpers import (assert_r2a_checksums, r2a_fixture,
                            r2a_fixture_maker, r2a_seeded, run_tool)


def _derainer():
    init_default_scope('mmderain')
    return MODELS.build(
        dict(
            type='BaseDerainer',
            generator=dict(type='R2AUNet'),
            pixel_loss=dict(type='MSELoss'),
            pad_multiple=R2AUNet.size_divisor))


def _official_model_pkl(tmp_path):
    """The fixture's official weights, regenerated without official code
    (verified by the checksums), saved as ``train_all.py`` saves them."""
    fix = r2a_fixture('unet')
    net = r2a_seeded(R2AUNet)
    assert_r2a_checksums(net.state_dict(), fix)
    pkl = tmp_path / 'model.pkl'
    r2a_fixture_maker().save_model_pkl(net, str(pkl))
    return pkl, fix


def test_convert_model_pkl_official_parity(tmp_path, capsys):
    pkl, fix = _official_model_pkl(tmp_path)
    dst = tmp_path / 'out' / 'r2a_unet.pth'
    gen = run_tool('convert/rain2avoid.py', [str(pkl), str(dst)])
    assert gen == dict(type='R2AUNet', in_channels=3)
    assert 'not converted: optimizer, scheduler' in capsys.readouterr().out
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['converted_from'] == 'model.pkl'
    assert ckpt['meta']['generator'] == gen
    assert ckpt['meta']['source'].startswith('ytpeng-aimlab/Rain2Avoid')

    model = _derainer()
    load_weights(model, str(dst))  # strict: every key and shape
    net = model.generator.eval()
    x = torch.from_numpy(fix['input'])
    expected = torch.from_numpy(fix['out_eval'])
    with torch.no_grad():
        out = net(x)
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)
        torch.testing.assert_close(
            model.derain_tensor(x), expected.clamp(0, 1), rtol=0, atol=1e-5)
        # the official test_all.py never calls eval(): batch statistics
        net.train()
        torch.testing.assert_close(
            net(x), torch.from_numpy(fix['out_train']), rtol=0, atol=1e-5)


def test_unconverted_official_files_name_the_converter(tmp_path):
    pkl, _ = _official_model_pkl(tmp_path)
    model = _derainer()
    with pytest.raises(CheckpointError) as err:
        load_weights(model, str(pkl))
    text = str(err.value)
    assert 'model.pkl' in text and 'official Rain2Avoid model.pkl' in text
    assert f'python tools/convert/rain2avoid.py {pkl} OUT.pth' in text
    bare = tmp_path / 'unet.pth'
    torch.save(R2AUNet().state_dict(), bare)
    with pytest.raises(
            CheckpointError, match=r'unet\.pth.*tools/convert/rain2avoid\.py'):
        load_weights(model, str(bare))


def test_convert_errors(tmp_path):
    pkl, _ = _official_model_pkl(tmp_path)
    official = torch.load(pkl, weights_only=True)
    no_model = tmp_path / 'no_model.pkl'
    torch.save({k: official[k] for k in ('optimizer', 'scheduler')}, no_model)
    dst = tmp_path / 'o.pth'
    with pytest.raises(
            CheckpointError, match=r"no_model\.pkl has no 'model' entry"):
        run_tool('convert/rain2avoid.py', [str(no_model), str(dst)])
    wrong = tmp_path / 'wrong_key.pkl'
    model = dict(official['model'])
    model['enc_1.conv.bias'] = torch.zeros(64)
    torch.save(dict(official, model=model), wrong)
    with pytest.raises(
            CheckpointError,
            match=r'wrong_key\.pkl.*unexpected keys '
            r'\[enc_1\.conv\.bias\]'):
        run_tool('convert/rain2avoid.py', [str(wrong), str(dst)])
    with pytest.raises(FileNotFoundError, match='missing.pkl'):
        run_tool('convert/rain2avoid.py',
                 [str(tmp_path / 'missing.pkl'),
                  str(dst)])
    assert not dst.exists()
