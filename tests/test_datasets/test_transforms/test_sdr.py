# Copyright (c) mmderain contributors. All rights reserved.
import random

import cv2
import numpy as np
import pytest

from mmderain.datasets import SDRDataset
from mmderain.datasets.transforms import (GenerateSDRs, LoadImageFromFile,
                                          LoadSDRs, PickSDR)
from tests._helpers import write_sdr_layout


def _sample(root, index=0, **kwargs):
    ds = SDRDataset(
        data_root=str(root),
        data_prefix=dict(img='rain'),
        num_sdrs=4,
        **kwargs)
    results = dict(ds.get_data_info(index))
    return LoadImageFromFile(key='img', channel_order='rgb')(results)


def test_pick_sdr_draws_every_reference(tmp_path):
    root = write_sdr_layout(tmp_path, n=1)
    results = _sample(root, sdr_dir='sdr')
    random.seed(0)
    seen = set()
    for _ in range(40):
        out = PickSDR()(dict(results))
        assert out['gt_path'] == results['sdr_paths'][out['sdr_index']]
        seen.add(out['sdr_index'])
    assert seen == {0, 1, 2, 3}
    with pytest.raises(KeyError, match='no sdr_paths'):
        PickSDR()(dict(img_path='x.png'))


def test_load_sdrs_in_order_and_checks_size(tmp_path):
    root = write_sdr_layout(tmp_path, n=1)
    results = LoadSDRs(channel_order='rgb')(_sample(root, sdr_dir='sdr'))
    gt = cv2.imread(str(tmp_path / 'norain' / '1.png'))
    assert len(results['sdrs']) == 4
    for k, sdr in enumerate(results['sdrs']):
        # the file's BGR channels are gt + (k, 2k, 3k); loaded as RGB
        expected = np.clip(
            gt.astype(int) + np.array([k, 2 * k, 3 * k]), 0, 255)[..., ::-1]
        np.testing.assert_array_equal(sdr, expected)
    cv2.imwrite(
        str(tmp_path / 'sdr' / '1' / '2.png'), np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(ValueError, match=r'SDR .*2\.png is 5x5'):
        LoadSDRs()(_sample(root, sdr_dir='sdr'))


def test_generate_sdrs_is_the_nss_op(tmp_path):
    from mmderain.ops import nss
    root = write_sdr_layout(tmp_path, n=1)
    results = _sample(root, ldgp_dir='ldgp')
    mask = cv2.imread(results['ldgp_path'], cv2.IMREAD_GRAYSCALE)
    out = GenerateSDRs(num=5, eta=0.5)(dict(results))
    expected = nss(results['img'], mask, num=5, eta=0.5)
    np.testing.assert_array_equal(np.stack(out['sdrs']), expected)
    assert not np.array_equal(out['sdrs'][0], results['img'])
    random.seed(1)
    one = GenerateSDRs(num=5, pick='random')(dict(results))
    expected = nss(results['img'], mask, num=5, eta=1.0)
    np.testing.assert_array_equal(one['gt'], expected[one['sdr_index']])


def test_generate_sdrs_errors(tmp_path):
    root = write_sdr_layout(tmp_path, n=1)
    results = _sample(root, ldgp_dir='ldgp')
    cv2.imwrite(results['ldgp_path'], np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=r'LDGP mask .*1\.png is 4x4'):
        GenerateSDRs()(dict(results))
    with pytest.raises(KeyError, match='no ldgp_path'):
        GenerateSDRs()(dict(img=results['img']))
    with pytest.raises(ValueError, match='pick'):
        GenerateSDRs(pick='one')
