# Copyright (c) mmderain contributors. All rights reserved.
"""Official BRN weights, converted, reproduce the official outputs.

Reference values: the official csdwren/RecDerain code (commit 5b2ad01,
``generator.py``'s ``BRN`` with ``recurrent_iter=8``, ``use_GPU=False``;
only its unused ``import torchvision`` removed) run on CPU with
``logs/Rain100L/BRN/net_latest.pth`` (``BRN_rain100l.pth`` here) on the
first 10 full-size (481x321) Rain100L test images, read and saved as
``test_BRN.py`` does (``cv2.imread``, BGR -> RGB, ``/ 255``; outputs
``uint8(255 * clamp(out, 0, 1))``, i.e. truncation, RGB -> BGR,
``cv2.imwrite``). Its PNGs were scored against ``norain-N.png`` with
scikit-image (``peak_signal_noise_ratio`` and ``structural_similarity`` with
a Gaussian window, sigma 1.5, sample covariance off, on the MATLAB
``rgb2ycbcr`` Y channel, data range 255), an implementation independent of
mmderain's; ``mmderain.evaluation.functional``'s
``calculate_psnr``/``calculate_ssim`` give the same values to all printed
digits. mmderain's float outputs differ from the official ones by at most
9e-7 (background) on these images, and its truncated outputs from the
official PNGs in 6-9 channel values per image, by one level (truncation of
values within float rounding of an integer). On all 100 images the official
protocol gives PSNR 38.1625 / SSIM 0.9817.
"""
import os.path as osp

import pytest

from tests._helpers import assert_metrics_match, link_test_subset, run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'brn', 'brn_t8_b12-p100-100e_rain100l.py')

REFERENCE = {  # name: (PSNR_Y, SSIM_Y) of the official outputs
    'norain-1.png': (38.312502, 0.97909441),
    'norain-2.png': (38.080110, 0.96703055),
    'norain-3.png': (40.528038, 0.99516752),
    'norain-4.png': (40.353983, 0.99499272),
    'norain-5.png': (37.819019, 0.97871105),
    'norain-6.png': (35.657944, 0.97571867),
    'norain-7.png': (35.391476, 0.96855512),
    'norain-8.png': (37.858997, 0.97721515),
    'norain-9.png': (37.045436, 0.98188255),
    'norain-10.png': (38.979610, 0.98739228),
}


@pytest.fixture(scope='module')
def official_brn(data_root):
    path = osp.join(data_root, 'checkpoints_official', 'brn',
                    'BRN_rain100l.pth')
    if not osp.isfile(path):
        pytest.fail(f'missing reference checkpoint {path}')
    return path


@pytest.fixture(scope='module')
def rain100l_subset(data_root, tmp_path_factory):
    """The first 10 Rain100L test pairs, linked into a temporary root."""
    return link_test_subset(
        osp.join(data_root, 'rain100l', 'test'), REFERENCE,
        str(tmp_path_factory.mktemp('rain100l_10')))


def test_convert_and_test_reproduce_official(official_brn, rain100l_subset,
                                             tmp_path):
    ckpt = tmp_path / 'brn_t8_rain100l.pth'
    gen = run_tool('convert/brn.py', [official_brn, str(ckpt)])
    assert gen == dict(mid_channels=32)

    out = tmp_path / 'metrics.json'
    run_tool('test.py', [
        CONFIG,
        str(ckpt), '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={rain100l_subset}',
        'test_dataloader.num_workers=0'
    ])
    assert_metrics_match(str(out), REFERENCE)
