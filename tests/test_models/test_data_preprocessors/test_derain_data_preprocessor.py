# Copyright (c) mmderain contributors. All rights reserved.
"""DerainDataPreprocessor: optional image fields of the data samples."""
import pytest
import torch

from mmderain.models.data_preprocessors import DerainDataPreprocessor
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.structures import DataSample


def _batch(with_ctx: bool) -> dict:
    samples = []
    for _ in range(2):
        s = DataSample(gt_img=torch.full((3, 4, 4), 255.))
        s.set_metainfo(dict(gt_channel_order='rgb'))
        if with_ctx:
            ctx = torch.arange(3.).view(3, 1, 1).expand(3, 2, 2) * 100
            s.set_tensor_data(dict(img_ctx=ctx.clone()))
            s.set_metainfo(dict(img_ctx_channel_order='rgb'))
        samples.append(s)
    return dict(inputs=[torch.zeros(3, 4, 4)] * 2, data_samples=samples)


def _preprocessor(**kwargs):
    return DerainDataPreprocessor(
        mean=[0.] * 3, std=[255.] * 3, output_channel_order='RGB', **kwargs)


def test_optional_keys_normalised_when_present():
    out = _preprocessor(optional_data_keys=['img_ctx'])(_batch(True), True)
    ctx = out['data_samples'].img_ctx
    assert ctx.shape == (2, 3, 2, 2)
    torch.testing.assert_close(ctx[:, :, 0, 0],
                               torch.tensor([[0., 100., 200.]] * 2) / 255.)
    torch.testing.assert_close(out['data_samples'].gt_img,
                               torch.ones(2, 3, 4, 4))


def test_optional_keys_skipped_when_absent(caplog):
    pre = _preprocessor(optional_data_keys=['img_ctx'])
    out = pre(_batch(False), True)
    assert 'img_ctx' not in out['data_samples']
    assert pre.data_keys == ['gt_img']  # restored
    assert 'Cannot find key' not in caplog.text


def test_without_optional_keys_they_stay_raw():
    out = _preprocessor()(_batch(True), True)
    assert out['data_samples'].img_ctx.max() == 200.  # not normalised


def test_samples_of_different_datasets_stack():
    batch = _batch(False)
    batch['data_samples'][0].set_metainfo(dict(img_path='a.png'))
    batch['data_samples'][1].set_metainfo(dict(rain_params=dict(angle=3)))
    out = _preprocessor()(batch, True)['data_samples']
    assert out.metainfo['img_path'] == ['a.png', None]
    assert out.metainfo['rain_params'] == [None, dict(angle=3)]


@pytest.mark.parametrize('unique_keys', [True, False])
def test_metainfo_keys_listed_in_one_order(unique_keys):
    """Equal key sets built by different insertion histories may iterate in
    different orders; stacking compares the lists, so the alignment must
    give every sample the same order whatever the hash seed."""
    shared = [f'key_{i}' for i in range(12)]
    samples = []
    for n in range(4):
        s = DataSample(gt_img=torch.zeros(3, 4, 4))
        order = shared[n:] + shared[:n] if n % 2 else shared[::-1]
        s.set_metainfo({k: n for k in order})
        if unique_keys:
            s.set_metainfo({f'only_{n}': n})
        samples.append(s)
    DerainDataPreprocessor._align_metainfo(samples)
    lists = [s.metainfo_keys() for s in samples]
    assert all(keys == lists[0] for keys in lists)
    stacked = DataSample.stack(samples)
    if unique_keys:
        assert stacked.metainfo['only_2'] == [None, None, 2, None]
    assert stacked.metainfo['key_5'] == [0, 1, 2, 3]
