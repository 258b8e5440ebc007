# Copyright (c) mmderain contributors. All rights reserved.
"""Tiny data and configs shared by the tests."""
import os
import os.path as osp

import cv2
import numpy as np
import torch
import torch.nn.functional as F

#: The repository root and the folder of the tests' small fixtures.
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEST_DATA = osp.join(ROOT, 'tests', 'data')


def num_params(module):
    """Number of parameters of ``module``.

    Returns:
        int: The sum of its parameters' sizes.
    """
    return sum(p.numel() for p in module.parameters())


def load_config(method, name):
    """``configs/<method>/<name>`` (``.py`` optional), loaded.

    Returns:
        mmengine.Config: The config.
    """
    from mmengine.config import Config
    if not name.endswith('.py'):
        name += '.py'
    return Config.fromfile(osp.join(ROOT, 'configs', method, name))


def build_model(cfg):
    """Build ``cfg.model`` in the mmderain scope (everything registered).

    Returns:
        nn.Module: The model.
    """
    from mmderain.registry import MODELS
    from mmderain.utils import register_all_modules
    register_all_modules()
    return MODELS.build(cfg.model)


def write_pairs(root, n=4, size=(24, 28), seed=0):
    """Write ``n`` random rain/norain PNG pairs under ``root``.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    for sub in ('rain', 'norain'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for i in range(1, n + 1):
        gt = rng.integers(0, 200, (*size, 3), dtype=np.uint8)
        rain = np.clip(gt.astype(int) + rng.integers(0, 55, gt.shape), 0,
                       255).astype(np.uint8)
        cv2.imwrite(osp.join(root, 'norain', f'norain-{i}.png'), gt)
        cv2.imwrite(osp.join(root, 'rain', f'norain-{i}.png'), rain)
    return str(root)


def tiny_prenet_cfg(data_root, work_dir, max_iters=4, name='tiny'):
    """A complete, fast iteration-based training config (dict)."""
    from mmengine.config import Config
    bases = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
        'datasets')
    # the pipelines of the shipped dataset bases, with a tiny crop
    train_pipeline = Config.fromfile(osp.join(
        bases, 'paired_train.py')).train_pipeline
    crop = next(t for t in train_pipeline if t.type == 'PairedRandomCrop')
    crop.patch_size = 16
    test_pipeline = Config.fromfile(osp.join(bases,
                                             'paired_test.py')).test_pipeline
    dataset = dict(
        type='PairedImageDataset',
        data_root=data_root,
        data_prefix=dict(img='rain', gt='norain'))
    return dict(
        default_scope='mmderain',
        experiment_name=name,
        work_dir=work_dir,
        model=dict(
            type='BaseDerainer',
            generator=dict(
                type='PReNet', num_stages=2, mid_channels=4, num_res_blocks=1),
            pixel_loss=dict(type='SSIMLoss')),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(**dataset, pipeline=train_pipeline)),
        test_dataloader=dict(
            batch_size=1,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(**dataset, test_mode=True, pipeline=test_pipeline)),
        test_evaluator=[dict(type='MatlabPSNR'),
                        dict(type='MatlabSSIM')],
        test_cfg=dict(type='MultiTestLoop'),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(
            type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
        param_scheduler=dict(
            type='MultiStepLR', by_epoch=False, milestones=[3], gamma=0.5),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
            # interval 1 also exercises mmagic's IterTimerHook in testing
            logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
    )


def load_tool(name):
    """Import ``tools/<name>`` (e.g. ``'convert/prenet.py'``) as a module.

    Returns:
        module: The tool's module.
    """
    import importlib.util
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        '_tool_' + osp.splitext(name)[0].replace('/', '_'),
        osp.join(root, 'tools', name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_benchmark(name):
    """Import ``benchmarks/<name>.py`` (e.g. ``'bench_prenet'``) as a
    module.

    Returns:
        module: The benchmark's module.
    """
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        f'_benchmark_{name}', osp.join(ROOT, 'benchmarks', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name, argv):
    """Run ``tools/<name>``'s ``main(argv)`` in this process.

    Returns:
        Whatever the tool's ``main`` returns.
    """
    return load_tool(name).main(argv)


def run_dist(script, args, nproc=1, timeout=600):
    """Run ``tools/<script>`` (``dist_train.sh``/``dist_test.sh``) on CPU.

    ``args`` are the script's arguments before and after the process count:
    ``(config_and_checkpoint, extra)``. Uses a free port and one OpenMP
    thread per process.

    Returns:
        subprocess.CompletedProcess: The finished run (stdout/stderr text).
    """
    import os
    import socket
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PORT=str(port),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1')
    head, extra = args
    return subprocess.run(
        ['bash', f'tools/{script}', *head,
         str(nproc), *extra],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


def link_test_subset(data_root, names, dst):
    """Link the pairs ``names`` of ``<data_root>/{rain,norain}/`` into
    ``dst`` (a ``rain/`` + ``norain/`` root); fail the test if one is
    missing.

    Returns:
        str: ``dst``.
    """
    import pytest
    for sub in ('rain', 'norain'):
        os.makedirs(osp.join(dst, sub))
        for name in names:
            src = osp.join(data_root, sub, name)
            if not osp.isfile(src):
                pytest.fail(f'missing {src}')
            os.symlink(src, osp.join(dst, sub, name))
    return str(dst)


def assert_metrics_match(metrics_json,
                         reference,
                         psnr_abs=1e-3,
                         ssim_abs=1e-5,
                         mean_psnr_abs=5e-4,
                         mean_ssim_abs=5e-6):
    """``tools/test.py --out`` results equal per-image reference values.

    Args:
        metrics_json (str): The JSON written by ``tools/test.py --out``.
        reference (dict): ``{name: (PSNR, SSIM)}``.
        psnr_abs, ssim_abs (float): Per-image tolerances.
        mean_psnr_abs, mean_ssim_abs (float): Tolerances of the means.
    """
    import json

    import pytest
    with open(metrics_json) as f:
        result = json.load(f)
    per_psnr = result['per_image']['PSNR']
    per_ssim = result['per_image']['SSIM']
    assert sorted(per_psnr) == sorted(reference)
    for name, (psnr, ssim) in reference.items():
        assert per_psnr[name] == pytest.approx(psnr, abs=psnr_abs), name
        assert per_ssim[name] == pytest.approx(ssim, abs=ssim_abs), name
    mean_psnr = sum(v[0] for v in reference.values()) / len(reference)
    mean_ssim = sum(v[1] for v in reference.values()) / len(reference)
    assert result['PSNR'] == pytest.approx(mean_psnr, abs=mean_psnr_abs)
    assert result['SSIM'] == pytest.approx(mean_ssim, abs=mean_ssim_abs)


# BRN in the official layouts (tests of the network and its converter)
def brn_conv_shapes(c=32):
    """The official BRN's convolution units and their shapes.

    Returns:
        dict[str, tuple[int, int]]: ``{unit: (C_in, C_out)}``.
    """
    shapes = {
        'conv0': (9, c),
        'conv': (c, 3),
        'conv0_r': (6, c),
        'conv_r': (c, 3)
    }
    for g in ('conv_i', 'conv_f', 'conv_g', 'conv_o'):
        shapes[g] = shapes[g + '_r'] = (3 * c, c)
    return shapes


def brn_res_units(unused=False):
    """The official BRN's residual units (``unused``: also the two rain
    units the official forward never calls).

    Returns:
        list[str]: Their names.
    """
    units = [f'res_conv{k}' for k in range(1, 6)]
    units += [f'res_conv{k}_r' for k in range(1, 6 if unused else 4)]
    return units


def brn_official_state(c=8, seed=0, unused=True, prefix='module.'):
    """Random weights in the csdwren/RecDerain layout (CoIC baseline:
    ``unused=False, prefix=''``).

    Returns:
        dict[str, Tensor]: The official state dict.
    """
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for unit, (cin, cout) in brn_conv_shapes(c).items():
        sd[f'{unit}.0.weight'] = torch.randn(cout, cin, 3, 3, generator=g) / 8
        sd[f'{unit}.0.bias'] = torch.randn(cout, generator=g) / 8
    for unit in brn_res_units(unused):
        for idx in ('0', '2'):
            sd[f'{unit}.{idx}.weight'] = torch.randn(
                c, c, 3, 3, generator=g) / 8
            sd[f'{unit}.{idx}.bias'] = torch.randn(c, generator=g) / 8
    return {prefix + k: v for k, v in sd.items()}


def brn_coim_state(c=8, code_dim=4, seed=0):
    """Random weights in CoIC's BRN_CoIM layout.

    Returns:
        dict[str, Tensor]: The official state dict.
    """
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def tconv(prefix, cin, cout):
        sd[f'{prefix}.base_conv.conv.weight'] = torch.randn(
            cout, cin, 3, 3, generator=g) / 8
        sd[f'{prefix}.base_conv.conv.bias'] = torch.randn(
            cout, generator=g) / 8
        shapes = ((cout, code_dim + cin), (16, cout), (cin + cout + 9, 16))
        for i, (o, n) in enumerate(shapes):
            sd[f'{prefix}.g2pa_wgen.{2 * i}.weight'] = torch.randn(
                o, n, generator=g)
            sd[f'{prefix}.g2pa_wgen.{2 * i}.bias'] = torch.randn(
                o, generator=g)

    for unit, (cin, cout) in brn_conv_shapes(c).items():
        tconv(f'{unit}.conv', cin, cout)
    for unit in brn_res_units():
        tconv(f'{unit}.conv1', c, c)
        tconv(f'{unit}.conv2', c, c)
    return sd


def official_convs(sd):
    """``conv(name, t)`` and ``res(name, t)`` over official-layout weights,
    for the tests' independent reference forwards (PReNet family, BRN):
    ``conv`` is the 3x3 convolution ``name`` (padding 1), ``res`` the
    residual block ``name`` (conv ``.0``, ReLU, conv ``.2``, ReLU, plus the
    input, ReLU)."""

    def conv(name, t):
        return F.conv2d(t, sd[f'{name}.weight'], sd[f'{name}.bias'], padding=1)

    def res(name, t):
        out = F.relu(conv(f'{name}.2', F.relu(conv(f'{name}.0', t))))
        return F.relu(out + t)

    return conv, res


def official_lstm(conv, suffix, u, c):
    """The official ConvLSTM update: gates ``conv_{i,f,g,o}<suffix>`` on
    ``u = cat(input, h)``; returns the new ``(h, c)``."""
    i = torch.sigmoid(conv(f'conv_i{suffix}', u))
    f = torch.sigmoid(conv(f'conv_f{suffix}', u))
    g = torch.tanh(conv(f'conv_g{suffix}', u))
    o = torch.sigmoid(conv(f'conv_o{suffix}', u))
    c = f * c + i * g
    return o * torch.tanh(c), c


def brn_reference_forward(sd, x, iters, c):
    """Independent functional forward of the official ``BRN.forward``
    (csdwren/RecDerain ``generator.py``), on official-layout weights.

    Args:
        sd (dict[str, Tensor]): Official weights (``module.`` optional).
        x (Tensor): Rainy input (N, 3, H, W).
        iters (int): Recurrent iterations T.
        c (int): Feature channels.

    Returns:
        tuple[list[Tensor], list[Tensor]]: The background and rain
        estimates of every iteration.
    """
    sd = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in sd.items()
    }

    conv, res = official_convs(sd)

    n, _, hh, ww = x.shape
    h, cc, h_r, c_r = (torch.zeros(n, c, hh, ww) for _ in range(4))
    img = rain = x
    imgs, rains = [], []
    for _ in range(iters):
        r = F.relu(conv('conv0_r.0', torch.cat((x, rain), 1)))
        h_r, c_r = official_lstm(conv, '_r.0', torch.cat((r, h_r, h), 1), c_r)
        r = h_r
        for k in (1, 2, 3):
            r = res(f'res_conv{k}_r', r)
        rain = conv('conv_r.0', r)
        rains.append(rain)
        t = F.relu(conv('conv0.0', torch.cat((x, img, rain), 1)))
        h, cc = official_lstm(conv, '.0', torch.cat((t, h, h_r), 1), cc)
        t = h
        for k in range(1, 6):
            t = res(f'res_conv{k}', t)
        img = conv('conv.0', t)
        imgs.append(img)
    return imgs, rains


def tiny_vrgnet_cfg(**kwargs):
    """Config of a VRGNet with tiny sub-networks on 64x64 patches;
    ``kwargs`` update it."""
    cfg = dict(
        type='VRGNet',
        generator=dict(
            type='VariationalPReNet',
            num_stages=2,
            mid_channels=4,
            num_res_blocks=1),
        rain_encoder=dict(
            type='RainEncoder', latent_dim=8, base_channels=4, image_size=64),
        rain_generator=dict(
            type='RainGenerator', latent_dim=8, base_channels=4,
            image_size=64),
        critic=dict(type='SAGANCritic', image_size=64, conv_dim=8))
    cfg.update(kwargs)
    return cfg


def tiny_vrgnet(**kwargs):
    """A VRGNet of :func:`tiny_vrgnet_cfg`, initialised."""
    from mmengine.registry import init_default_scope

    from mmderain.registry import MODELS
    init_default_scope('mmderain')
    model = MODELS.build(tiny_vrgnet_cfg(**kwargs))
    model.init_weights()
    return model


def vrgnet_batch(n=2, size=64, seed=0):
    """A dataloader batch of ``n`` random uint8 rainy/clean pairs."""
    import torch
    from mmagic.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        gt = torch.randint(
            0, 200, (3, size, size), generator=g, dtype=torch.uint8)
        img = (gt + torch.randint(0, 56, gt.shape, generator=g)).to(
            torch.uint8)
        ds = DataSample(gt_img=gt)
        ds.set_metainfo(dict(img_channel_order='rgb', gt_channel_order='rgb'))
        inputs.append(img)
        samples.append(ds)
    return dict(inputs=inputs, data_samples=samples)


def vrgnet_optim(model, derainer=True):
    """Adam wrappers ``rain`` and ``critic`` (and ``generator`` unless
    ``derainer`` is False) for a VRGNet."""
    from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
    groups = dict(generator=adam) if derainer else {}
    groups.update(
        rain=dict(adam, modules=('rain_encoder', 'rain_generator')),
        critic=adam)
    return GroupedOptimWrapperConstructor(groups)(model)


def vrgnet_critic_inputs(model):
    """Run one critic-only step of a VRGNet (iteration 1, ``n_dis`` > 1) on
    :func:`vrgnet_batch` and return ``(x, mu_b, real, fake)``: the
    preprocessed rainy inputs, the derainer's mean and what the critic
    scored as real and as generated."""
    import torch
    from mmengine.logging import MessageHub
    seen = []

    def scores(x):
        seen.append(x.detach())
        return x.mean((1, 2, 3))

    model._critic_scores = scores
    MessageHub.get_current_instance().update_info('iter', 1)
    batch = vrgnet_batch()
    x = model.data_preprocessor(batch, True)['inputs']
    with torch.no_grad():
        mu_b = model.generator(x)
    try:
        model.train_step(batch, vrgnet_optim(model))
    finally:
        del model._critic_scores
    return x, mu_b, seen[0], seen[1]


# ---------------------------------------------------------------- Rain2Avoid
def write_sdr_layout(root,
                     n=3,
                     size=(16, 24),
                     num_sdrs=4,
                     seed=0,
                     without_sdrs=(),
                     without_gt=()):
    """Write the Rain2Avoid folder layout of ``n`` random images under
    ``root``: ``rain/<i>.png``, ``norain/<i>.png``, ``ldgp/<i>.png`` and
    ``sdr/<i>/<k>.png`` (i from 1). SDR k of image i is its clean image
    plus ``(k, 2k, 3k)`` in the channels (so references and channels are
    told apart); the images numbered in ``without_sdrs``/``without_gt``
    get no references / no clean image.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    for sub in ('rain', 'norain', 'ldgp', 'sdr'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for i in range(1, n + 1):
        gt = rng.integers(0, 200, (*size, 3), dtype=np.uint8)
        rain = np.clip(gt.astype(int) + rng.integers(0, 55, gt.shape), 0,
                       255).astype(np.uint8)
        cv2.imwrite(osp.join(root, 'rain', f'{i}.png'), rain)
        if i not in without_gt:
            cv2.imwrite(osp.join(root, 'norain', f'{i}.png'), gt)
        mask = (rng.random(size) < 0.2).astype(np.uint8) * 255
        cv2.imwrite(osp.join(root, 'ldgp', f'{i}.png'), mask)
        if i in without_sdrs:
            continue
        os.makedirs(osp.join(root, 'sdr', str(i)), exist_ok=True)
        for k in range(num_sdrs):
            sdr = np.clip(
                gt.astype(int) + np.array([k, 2 * k, 3 * k]), 0,
                255).astype(np.uint8)
            cv2.imwrite(osp.join(root, 'sdr', str(i), f'{k}.png'), sdr)
    return str(root)


# --------------------------------------------------------------------------
# Rain2Avoid backbones (issue 21, wip/r2a-archs): the official parity
# fixtures written by tests/data/make_rain2avoid_unet_fixture.py
# --------------------------------------------------------------------------
def r2a_fixture_maker():
    """The module ``tests/data/make_rain2avoid_unet_fixture.py`` (torch only:
    seeds, :func:`perturb_batch_norms`, :func:`make_input`,
    :func:`save_model_pkl`, :func:`checksums`).

    Returns:
        module: The fixture script, imported.
    """
    import importlib.util
    path = osp.join(TEST_DATA, 'make_rain2avoid_unet_fixture.py')
    spec = importlib.util.spec_from_file_location('r2a_fixture_maker', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def r2a_fixture(name):
    """The arrays of ``tests/data/rain2avoid_<name>_parity.npz``.

    Args:
        name (str): ``'unet'`` or ``'backbones'``.

    Returns:
        dict[str, np.ndarray]: The fixture (no pickled objects).
    """
    path = osp.join(TEST_DATA, f'rain2avoid_{name}_parity.npz')
    with np.load(path, allow_pickle=False) as fix:
        return dict(fix)


def r2a_seeded(cls, **kwargs):
    """``cls(**kwargs)`` built as the fixture's official networks were:
    under the fixture's seed, batch norms perturbed.

    Returns:
        nn.Module: The network, in eval mode.
    """
    maker = r2a_fixture_maker()
    torch.manual_seed(maker.SEED)
    net = cls(**kwargs)
    maker.perturb_batch_norms(net)
    return net.eval()


def assert_r2a_checksums(state_dict, fix, prefix='', key_map=None):
    """Every official tensor of the fixture matches ``state_dict``.

    Args:
        state_dict (dict[str, Tensor]): Our state dict.
        fix (dict): :func:`r2a_fixture` arrays.
        prefix (str): Prefix of the fixture's arrays (``'resnet_'``).
        key_map (callable, optional): Official key -> our key, or None to
            skip the key. Defaults to the identity.
    """
    keys = [str(k) for k in fix[prefix + 'keys']]
    ours = []
    for n, key in enumerate(keys):
        mine = key_map(key) if key_map else key
        if mine is None:
            continue
        ours.append(mine)
        v = state_dict[mine].double()
        np.testing.assert_allclose(
            v.sum().item(), fix[prefix + 'sums'][n], rtol=1e-12, err_msg=key)
        np.testing.assert_allclose(
            (v * v).sum().item(),
            fix[prefix + 'sumsq'][n],
            rtol=1e-12,
            err_msg=key)
    assert sorted(set(ours)) == sorted(state_dict), 'key sets differ'
