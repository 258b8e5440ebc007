# Copyright (c) mmderain contributors. All rights reserved.
"""Official VRGNet derainer weights, converted, reproduce the official outputs.

Reference values: the official hongwang01/VRGNet code (commit 036d7a9,
``for_syn/test_syn_joint.py`` with ``DerainNet_state_700.pt`` of
``syn100lmodels``, i.e. ``DerainNet_syn100l.pt`` here) run on CPU on the
first 10 full-size (481x321) Rain100L test images, with only the CPU edits
listed in section 0 of the VRGNet spec (``.cuda()`` -> ``.to(device)``, a
real boolean ``--use_gpu`` parser, ``map_location``, no ``torchvision``
import). Its PNG outputs (``uint8(255 * clamp(mu_b, 0, 1))``: truncation)
were scored against ``norain-N.png`` with scikit-image
(``peak_signal_noise_ratio`` and ``structural_similarity`` with a Gaussian
window, sigma 1.5, sample covariance off, on the MATLAB ``rgb2ycbcr`` Y
channel, data range 255); ``mmderain.evaluation.functional``'s
``calculate_psnr``/``calculate_ssim`` give the same values to all printed
digits. mmderain's outputs differ from the official PNGs in at most two
channel values per image, by one level (truncation of values within
float rounding of an integer). On all 100 images the official protocol gives
PSNR 36.9365 / SSIM 0.9752.
"""
import os.path as osp

import pytest

import mmderain.models.editors.vrgnet  # noqa: F401 (registers)
from tests._helpers import assert_metrics_match, run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

REFERENCE = {  # name: (PSNR_Y, SSIM_Y) of the official outputs
    'norain-1.png': (37.614631, 0.97617496),
    'norain-2.png': (37.685549, 0.96272765),
    'norain-3.png': (40.279289, 0.99424496),
    'norain-4.png': (39.679973, 0.99390316),
    'norain-5.png': (37.753888, 0.96933793),
    'norain-6.png': (35.049589, 0.97264329),
    'norain-7.png': (34.918008, 0.96410074),
    'norain-8.png': (36.055081, 0.96640413),
    'norain-9.png': (36.209133, 0.97998394),
    'norain-10.png': (38.105771, 0.98472782),
}


@pytest.fixture(scope='module')
def official_vrgnet(data_root):
    path = osp.join(data_root, 'checkpoints_official', 'vrgnet',
                    'DerainNet_syn100l.pt')
    if not osp.isfile(path):
        pytest.fail(f'missing reference checkpoint {path}')
    return path


def test_convert_and_test_reproduce_official(official_vrgnet, data_root,
                                             tmp_path):
    test_root = osp.join(data_root, 'rain100l', 'test')
    for name in REFERENCE:
        for sub in ('rain', 'norain'):
            if not osp.isfile(osp.join(test_root, sub, name)):
                pytest.fail(f'missing {osp.join(test_root, sub, name)}')
    ckpt = tmp_path / 'vrgnet_syn100l.pth'
    run_tool('convert/vrgnet.py', [official_vrgnet, str(ckpt)])

    # the README's command: the joint config tests the derainer-only
    # checkpoint (its inference_prefixes), on the first 10 images
    out = tmp_path / 'metrics.json'
    run_tool('test.py', [
        osp.join(ROOT, 'configs', 'vrgnet',
                 'vrgnet_b18-p64-2100k_rain100l.py'),
        str(ckpt), '--out',
        str(out), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'test_dataloader.dataset.data_root={test_root}',
        f'test_dataloader.dataset.indices={len(REFERENCE)}',
        'test_dataloader.num_workers=0'
    ])
    assert_metrics_match(str(out), REFERENCE)
