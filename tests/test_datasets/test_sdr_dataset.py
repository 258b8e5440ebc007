# Copyright (c) mmderain contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest

from mmderain.datasets import SDRDataset
from tests._helpers import write_sdr_layout


def _dataset(root, **kwargs):
    args = dict(
        data_root=str(root),
        data_prefix=dict(img='rain'),
        sdr_dir='sdr',
        num_sdrs=4)
    args.update(kwargs)
    return SDRDataset(**args)


def test_layout(tmp_path):
    root = write_sdr_layout(tmp_path, n=3)
    ds = _dataset(root, ldgp_dir='ldgp', gt_dir='norain')
    assert len(ds) == 3 and ds.failures == []
    info = ds.get_data_info(1)
    assert info['key'] == '2'
    assert info['img_path'] == os.path.join(root, 'rain', '2.png')
    assert info['sdr_paths'] == [
        os.path.join(root, 'sdr', '2', f'{k}.png') for k in range(4)
    ]
    assert info['ldgp_path'] == os.path.join(root, 'ldgp', '2.png')
    assert info['gt_path'] == os.path.join(root, 'norain', '2.png')


def test_unprocessable_images_are_listed_not_dropped(tmp_path):
    root = write_sdr_layout(tmp_path, n=3, without_sdrs=(2, ))
    os.remove(os.path.join(root, 'sdr', '3', '3.png'))
    ds = _dataset(root)
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == ['1']
    assert [k for k, _ in ds.failures] == ['2', '3']
    assert '4 of its 4 SDRs are missing' in ds.failures[0][1]
    assert os.path.join('sdr', '3', '3.png') in ds.failures[1][1]
    # a mask missing for the online variant
    os.remove(os.path.join(root, 'ldgp', '1.png'))
    ds = _dataset(root, sdr_dir=None, ldgp_dir='ldgp')
    assert [k for k, _ in ds.failures] == ['1']
    assert 'LDGP mask missing' in ds.failures[0][1]


def test_missing_clean_image_only_drops_metrics(tmp_path):
    root = write_sdr_layout(tmp_path, n=2, without_gt=(1, ))
    ds = _dataset(root, gt_dir='norain')
    assert len(ds) == 2 and ds.failures == []
    assert 'gt_path' not in ds.get_data_info(0)
    assert 'gt_path' in ds.get_data_info(1)


def test_errors(tmp_path):
    root = write_sdr_layout(tmp_path, n=1, without_sdrs=(1, ))
    with pytest.raises(ValueError, match='sdr_dir .* or ldgp_dir'):
        _dataset(root, sdr_dir=None)
    with pytest.raises(ValueError, match='num_sdrs'):
        _dataset(root, num_sdrs=0)
    with pytest.raises(ValueError, match="backend must be 'disk'"):
        _dataset(root, backend='lmdb')
    with pytest.raises(FileNotFoundError, match='ldgp_dir not found.*ldgp'):
        _dataset(root, ldgp_dir='nope')
    with pytest.raises(FileNotFoundError, match='no image .* can be proc'):
        _dataset(root)


def test_verify_images(tmp_path):
    root = write_sdr_layout(tmp_path, n=3)
    with open(os.path.join(root, 'sdr', '2', '1.png'), 'wb') as f:
        f.write(b'not a png')
    cv2.imwrite(os.path.join(root, 'ldgp', '3.png'), np.zeros((5, 5)))
    ds = _dataset(root, ldgp_dir='ldgp')
    assert len(ds) == 3  # existence only
    ds = _dataset(root, ldgp_dir='ldgp', verify_images=True)
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == ['1']
    reasons = dict(ds.failures)
    assert reasons['2'].startswith('cannot read') and \
        reasons['2'].split()[2].endswith(os.path.join('sdr', '2', '1.png'))
    assert 'ldgp' in reasons['3'] and 'is 5x5' in reasons['3']
