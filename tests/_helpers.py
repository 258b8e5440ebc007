# Copyright (c) mmderain contributors. All rights reserved.
"""Tiny data and configs shared by the tests."""
import os
import os.path as osp

import cv2
import numpy as np

#: The repository root and the folder of the tests' small fixtures.
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEST_DATA = osp.join(ROOT, 'tests', 'data')


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


def brn_conv_shapes(c=32):
    """BRN's official single-convolution units -> (C_in, C_out)."""
    shapes = {'conv0': (9, c), 'conv': (c, 3), 'conv0_r': (6, c),
              'conv_r': (c, 3)}
    for g in ('conv_i', 'conv_f', 'conv_g', 'conv_o'):
        shapes[g] = shapes[g + '_r'] = (3 * c, c)
    return shapes


def brn_res_units(unused=False):
    """BRN's official residual blocks (``unused``: also the two that the
    official forward never applies)."""
    units = [f'res_conv{k}' for k in range(1, 6)]
    units += [f'res_conv{k}_r' for k in range(1, 6 if unused else 4)]
    return units


def brn_official_state(c=8, seed=0, unused=True, prefix='module.'):
    """Random weights in the csdwren/RecDerain layout (CoIC baseline:
    ``unused=False, prefix=''``)."""
    import torch
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
    """Random weights in CoIC's BRN_CoIM layout."""
    import torch
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def tconv(prefix, cin, cout):
        sd[f'{prefix}.base_conv.conv.weight'] = torch.randn(
            cout, cin, 3, 3, generator=g) / 8
        sd[f'{prefix}.base_conv.conv.bias'] = torch.randn(
            cout, generator=g) / 8
        for i, (o, n) in enumerate(((cout, code_dim + cin), (16, cout),
                                    (cin + cout + 9, 16))):
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
    return subprocess.run(['bash', f'tools/{script}', *head,
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
