# Copyright (c) mmderain contributors. All rights reserved.
"""tools/vrgnet/train_plain.py: the plain-PyTorch VRGNet loop is
``VRGNet.train_step``, and it runs without the OpenMMLab stack."""
import copy
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
from tests.test_models.test_derainers.test_vrgnet import _build
from tools.vrgnet import train_plain

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tiny_vrgnet(**kwargs):
    """The tiny VRGNet of the model's own tests, Kaiming-initialised G."""
    return _build(
        kaiming_init=('rain_generator', ),
        official_init=('generator', 'rain_encoder'),
        **kwargs)


def _batches(num, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num):
        clean = torch.randint(0, 200, (n, 3, 64, 64), generator=g,
                              dtype=torch.uint8)
        rainy = (clean + torch.randint(0, 56, clean.shape, generator=g)).to(
            torch.uint8)
        out.append((rainy, clean))
    return out


def _as_data(rainy, clean):
    from mmagic.structures import DataSample
    samples = []
    for gt in clean:
        ds = DataSample(gt_img=gt)
        ds.set_metainfo(dict(img_channel_order='rgb', gt_channel_order='rgb'))
        samples.append(ds)
    return dict(inputs=list(rainy), data_samples=samples)


def test_critic_inputs_are_vrgnet_s():
    from mmderain.models.derainers.vrgnet import CRITIC_INPUTS
    assert train_plain.CRITIC_INPUTS == CRITIC_INPUTS


@pytest.mark.parametrize(
    'train_derainer,critic_input,diversity,normalize',
    [(True, 'image', 0.0, False), (False, 'rain', 0.0, False),
     (True, 'image', 5.0, False), (False, 'gt_rain', 0.5, True),
     (True, 'gt_rain', 0.0, False), (True, 'rain', 2.0, True)])
def test_plain_loop_is_vrgnet_train_step(train_derainer, critic_input,
                                         diversity, normalize):
    model = _tiny_vrgnet(
        n_dis=2, train_derainer=train_derainer, critic_input=critic_input,
        diversity_weight=diversity, diversity_tau=0.5,
        diversity_normalize=normalize)
    nets = {
        n: copy.deepcopy(getattr(model, n))
        for n in train_plain.SUBNETWORKS
    }
    adam = dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999)))
    groups = dict(
        rain=dict(adam, modules=('rain_encoder', 'rain_generator')),
        critic=adam)
    if train_derainer:
        groups['generator'] = adam
    wrappers = GroupedOptimWrapperConstructor(groups)(model)
    plain = train_plain.PlainVRGNet(
        nets,
        train_plain.make_optimizers(
            nets,
            1e-3,
            1e-3,
            1e-3,
            betas_derainer=(0.5, 0.999),
            betas_rain=(0.5, 0.999),
            betas_critic=(0.5, 0.999),
            train_derainer=train_derainer),
        n_dis=2,
        train_derainer=train_derainer,
        critic_input=critic_input,
        diversity_weight=diversity,
        diversity_tau=0.5,
        diversity_normalize=normalize)
    hub = MessageHub.get_current_instance()
    for it, (rainy, clean) in enumerate(_batches(4)):
        hub.update_info('iter', it)
        torch.manual_seed(it)
        ours = model.train_step(_as_data(rainy, clean), wrappers)
        torch.manual_seed(it)
        theirs = plain.step(rainy.float() / 255., clean.float() / 255., it)
        assert ours.keys() == theirs.keys()
        for key in ours:
            torch.testing.assert_close(
                ours[key], theirs[key], rtol=1e-5, atol=1e-7, msg=key)
    for name in train_plain.SUBNETWORKS:
        for (key, a), b in zip(
                getattr(model, name).state_dict().items(),
                nets[name].state_dict().values()):
            torch.testing.assert_close(
                a, b, rtol=1e-5, atol=1e-7, msg=f'{name}.{key}')
    # the loop did train: the generator moved away from its start
    start = _tiny_vrgnet().rain_generator.state_dict()
    assert any(not torch.equal(v, start[k])
               for k, v in nets['rain_generator'].state_dict().items())


def _write_pairs(root, num=2, size=(70, 90)):
    rng = np.random.default_rng(0)
    for i in range(num):
        clean = rng.integers(0, 200, (*size, 3), dtype=np.uint8)
        rainy = clean + rng.integers(0, 56, clean.shape, dtype=np.uint8)
        for sub, img in (('rain', rainy), ('norain', clean)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / f'{i}.png'), img)


_BARE = '''
import sys
for name in ('mmagic', 'mmcv', 'mmengine'):
    sys.modules[name] = None  # as on a machine without the stack
sys.path.insert(0, {root!r})
from tools.vrgnet import train_plain
train_plain.main({argv!r})
assert 'mmderain.models.derainers' not in sys.modules
'''


def test_runs_without_openmmlab_and_writes_readable_outputs(tmp_path):
    _write_pairs(tmp_path / 'data')
    work = tmp_path / 'work'
    argv = [
        '--data', str(tmp_path / 'data'), '--work-dir', str(work),
        '--batch-size', '2', '--max-iters', '3', '--n-dis', '2',
        '--log-interval', '1', '--snapshots', '2', '--num-samples', '4',
        '--show', '2', '--kaiming', 'rain_generator', '--save',
        'rain_generator', 'critic', '--diversity-weight', '1'
    ]
    proc = subprocess.run(
        [sys.executable, '-c',
         _BARE.format(root=ROOT, argv=argv)],
        capture_output=True,
        text=True,
        timeout=600,
        env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = json.loads((work / 'log.json').read_text())
    assert log['iters'] == 3 and log['num_images'] == 2
    assert [s['iter'] for s in log['snapshots']] == [2, 3]
    assert [e['iter'] for e in log['losses']] == [1, 2, 3]
    assert 'loss_g' in log['losses'][0] and 'loss_g' not in log['losses'][1]
    assert 'loss_div' in log['losses'][0]
    assert set(log['real']) == {
        'mean', 'coverage', 'chroma', 'coherence', 'diversity'
    }
    samples = np.load(work / 'samples.npz')
    assert samples['samples'].shape == (2, 2, 3, 64, 64)
    assert list(samples['iters']) == [2, 3]
    # the checkpoint reads like a tools/train.py one
    from mmderain.apis.rain_generation import (DEFAULT_RAIN_GENERATOR,
                                               load_subnetwork)
    init_default_scope('mmderain')
    gen = load_subnetwork(
        str(work / 'iter_3.pth'), DEFAULT_RAIN_GENERATOR, 'rain_generator.')
    assert gen.latent_dim == 128
    keys = torch.load(work / 'iter_3.pth', weights_only=True)['state_dict']
    assert {k.split('.')[0] for k in keys} == {'rain_generator', 'critic'}


@pytest.mark.parametrize('grey', [False, True])
def test_initialise_like_init_weights(grey):
    nets = train_plain.build_networks(
        latent_dim=8, base_channels=4, critic_channels=8, num_stages=2,
        derainer_channels=4, num_res_blocks=1)
    torch.manual_seed(0)
    train_plain.initialise(nets, ('rain_generator', ), grey=grey)
    torch.manual_seed(0)
    model = _tiny_vrgnet(grey_init=grey)
    for name in train_plain.GENERATOR_SIDE:
        ours, theirs = nets[name].state_dict(), getattr(model,
                                                        name).state_dict()
        for key, value in theirs.items():
            if key.endswith('weight') and value.dim() == 4:
                assert ours[key].std().item() == pytest.approx(
                    value.std().item(), rel=0.2), (name, key)
    with torch.no_grad():
        rain = nets['rain_generator'](torch.randn(2, 8))
    assert torch.equal(rain[:, 0], rain[:, 2]) == grey


def test_bad_data_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='norain'):
        (tmp_path / 'rain').mkdir()
        train_plain.PairedPatches(str(tmp_path), 64, 'cpu')
    _write_pairs(tmp_path / 'd', size=(40, 90))
    with pytest.raises(ValueError, match='smaller than the 64-px patch'):
        train_plain.PairedPatches(str(tmp_path / 'd'), 64, 'cpu')
    (tmp_path / 'd' / 'norain' / '1.png').unlink()
    with pytest.raises(FileNotFoundError,
                       match=r"clean images of \['1.png'\]"):
        train_plain.PairedPatches(str(tmp_path / 'd'), 64, 'cpu')


def test_load_weights_needs_known_groups(tmp_path):
    path = tmp_path / 'x.pth'
    torch.save(dict(state_dict={'other.w': torch.zeros(1)}), path)
    with pytest.raises(KeyError, match='holds no weights'):
        train_plain.load_weights({'critic': torch.nn.Linear(1, 1)}, str(path))
