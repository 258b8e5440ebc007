# Copyright (c) mmderain contributors. All rights reserved.
"""Official PReNet weights, converted, reproduce the official outputs.

Reference values: the official csdwren/PReNet code (``test_PReNet.py``
logic: ``uint8(255 * clamp(x, 0, 1))``) run on Rain100L test with
``PReNet6_rain100l.pth``, its outputs scored with scikit-image
(``peak_signal_noise_ratio`` and ``structural_similarity`` with a Gaussian
window, sigma 1.5, on MATLAB-``rgb2ycbcr`` Y), an implementation independent
of mmderain's. On all 100 images that gives PSNR 37.4800 / SSIM 0.9792, the
published numbers.
"""
import os.path as osp
import subprocess
import sys

import pytest

from tests._helpers import assert_metrics_match, link_test_subset, run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'prenet',
                  'prenet_t6_b18-p100-100e_rain100l.py')

REFERENCE = {  # name: (PSNR_Y, SSIM_Y)
    'norain-1.png': (38.006906, 0.97760946),
    'norain-2.png': (37.850237, 0.96464224),
    'norain-3.png': (40.040958, 0.99445321),
    'norain-4.png': (40.340167, 0.99451097),
    'norain-5.png': (38.656097, 0.97662714),
    'norain-6.png': (35.315565, 0.97506478),
    'norain-7.png': (35.192953, 0.96785999),
    'norain-8.png': (37.369608, 0.97378159),
    'norain-9.png': (36.340198, 0.98091969),
    'norain-10.png': (38.235130, 0.98607863),
}


@pytest.fixture(scope='module')
def official_prenet(data_root):
    path = osp.join(data_root, 'checkpoints_official', 'prenet',
                    'PReNet6_rain100l.pth')
    if not osp.isfile(path):
        pytest.fail(f'missing reference checkpoint {path}')
    return path


@pytest.fixture(scope='module')
def rain100l_subset(data_root, tmp_path_factory):
    """The first 10 Rain100L test pairs, linked into a temporary root."""
    return link_test_subset(
        osp.join(data_root, 'rain100l', 'test'), REFERENCE,
        str(tmp_path_factory.mktemp('rain100l_10')))


def test_convert_and_test_reproduce_official(official_prenet, rain100l_subset,
                                             tmp_path):
    ckpt = tmp_path / 'prenet6_rain100l.pth'
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'convert', 'prenet.py'), official_prenet,
        str(ckpt)
    ],
                          capture_output=True,
                          text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert 'variant "prenet"' in proc.stdout

    out = tmp_path / 'metrics.json'
    run_tool('test.py', [
        CONFIG,
        str(ckpt), '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={rain100l_subset}'
    ])
    assert_metrics_match(
        str(out),
        REFERENCE,
        psnr_abs=0.005,
        ssim_abs=2e-5,
        mean_psnr_abs=0.002,
        mean_ssim_abs=1e-5)
