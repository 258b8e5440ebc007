# Copyright (c) mmderain contributors. All rights reserved.
"""The PReNet checkpoint shipped for `make demo` works as documented."""
import os.path as osp

import pytest
import torch

from mmderain.utils.safe_loading import CheckpointError
from tests._helpers import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CKPT = osp.join(ROOT, 'checkpoints', 'prenet_t6-c16_rain100l_demo.pth')
CONFIG = osp.join(ROOT, 'configs', 'prenet',
                  'prenet_t6-c16_b8-p48-2k_rain100l.py')


def test_shipped_checkpoint_is_small_and_plain():
    assert osp.getsize(CKPT) < 1024 * 1024
    ckpt = torch.load(CKPT, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}  # no optimizer state
    assert ckpt['meta']['config'] == osp.relpath(CONFIG, ROOT)
    assert all(k.startswith('generator.') for k in ckpt['state_dict'])


def test_demo_derains_with_shipped_checkpoint(tmp_path, capsys):
    code = run_tool('demo.py', [
        '--config', CONFIG, '--checkpoint', CKPT, '--images', 'chelsea',
        '--max-size', '160', '--out-dir',
        str(tmp_path)
    ])
    assert code == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith('chelsea'))
    rainy_psnr, rainy_ssim, derained_psnr, derained_ssim = map(
        float,
        row.split()[1:])
    assert derained_psnr > rainy_psnr + 5
    assert derained_ssim > rainy_ssim
    assert osp.isfile(tmp_path / 'chelsea.png')


def test_checkpoint_of_another_architecture_is_refused():
    from mmderain.apis import init_derainer
    full_size = osp.join(ROOT, 'configs', 'prenet',
                         'prenet_t6_b18-p100-100e_rain100l.py')
    with pytest.raises(
            CheckpointError,
            match=r'prenet_t6-c16_rain100l_demo.pth does not fit.*'
            r'another shape'):
        init_derainer(full_size, CKPT)
