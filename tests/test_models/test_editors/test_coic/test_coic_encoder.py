# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC encoder E and MomentumEncoder: structure, state-dict names of the
official ``MoCo``, and parity with the official classes on
``tests/data/coic_parity_small.pth`` (see
``tests/test_ops/test_modulated_conv.py`` for how it is made)."""
import os.path as osp

import pytest
import torch

from mmderain.models.editors.coic import (CoICContrastiveLoss, CoICEncoder,
                                          MomentumEncoder)
from mmderain.registry import MODELS
from tests._helpers import TEST_DATA

FIXTURE = osp.join(TEST_DATA, 'coic_parity_small.pth')


def _fixture():
    return torch.load(FIXTURE)


def _loaded(fix):
    enc = MomentumEncoder(**fix['encoder']['args'])
    enc.load_state_dict(fix['encoder']['state_before'])
    return enc


def test_parameter_count_and_official_names():
    enc = CoICEncoder()
    assert sum(p.numel() for p in enc.parameters()) == 1_257_664
    moco = MomentumEncoder()
    shapes = [(k, tuple(v.shape)) for k, v in moco.state_dict().items()]
    assert shapes == [tuple(e) for e in _fixture()['moco_full_shapes']]
    assert len(shapes) == 126
    assert sum(p.numel() for p in moco.parameters()) == 2 * 1_257_664


def test_registered():
    enc = MODELS.build(
        dict(type='MomentumEncoder', mid_channels=4, code_dim=8))
    assert isinstance(enc, MomentumEncoder) and enc.code_dim == 8
    assert isinstance(MODELS.build(dict(type='CoICEncoder')), CoICEncoder)


def test_key_encoder_is_a_frozen_copy():
    torch.manual_seed(0)
    enc = MomentumEncoder(mid_channels=4, code_dim=8)
    for (n_q, p_q), (n_k, p_k) in zip(enc.encoder_q.named_parameters(),
                                      enc.encoder_k.named_parameters()):
        assert n_q == n_k and torch.equal(p_q, p_k)
        assert p_q.requires_grad and not p_k.requires_grad
        assert p_q.data_ptr() != p_k.data_ptr()


def test_encoder_outputs_unit_vectors():
    torch.manual_seed(0)
    out = CoICEncoder(mid_channels=4, code_dim=8)(torch.rand(2, 3, 20, 20))
    z, feat = out  # official order (out_z, out_feature)
    assert z is out.code and feat is out.feature
    assert z.shape == (2, 8) and feat.shape == (2, 32, 3, 3)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(feat.norm(dim=1), torch.ones(2, 3, 3))


def test_eval_encoder_matches_official():
    fix = _fixture()
    enc = _loaded(fix).eval()
    e = fix['encoder']
    with torch.no_grad():
        z, feat = enc.encoder_q(e['x_eval'])
    torch.testing.assert_close(z, e['z_eval'], rtol=0, atol=1e-5)
    torch.testing.assert_close(feat, e['feat_eval'], rtol=0, atol=1e-5)


def test_training_step_matches_official_moco():
    fix = _fixture()
    enc = _loaded(fix).train()
    e = fix['encoder']
    im_q = e['im_q']
    sims, z_q = enc(im_q, im_q.flip(-1), e['im_negs'])
    # temperature 1: the official logits are the similarities
    torch.testing.assert_close(sims, e['logits'], rtol=0, atol=1e-5)
    torch.testing.assert_close(z_q, e['z_q'], rtol=0, atol=1e-5)
    # EMA update of the key encoder and BatchNorm statistics of both
    state = enc.state_dict()
    changed = e['state_after']
    assert any(
        k.startswith('encoder_k.') and k.endswith('weight') for k in changed)
    for key, before in e['state_before'].items():
        expected = changed.get(key, before)
        if expected.is_floating_point():
            torch.testing.assert_close(
                state[key], expected, rtol=0, atol=1e-6, msg=key)
        else:
            assert torch.equal(state[key], expected), key
    # the loss is differentiable through the query encoder only
    loss = CoICContrastiveLoss()(sims) + z_q.sum()
    loss.backward()
    assert all(p.grad is not None for p in enc.encoder_q.parameters())
    assert all(p.grad is None for p in enc.encoder_k.parameters())


def test_features_come_from_one_key_pass():
    torch.manual_seed(0)
    enc = MomentumEncoder(mid_channels=2, code_dim=8).train()
    calls = []
    enc.encoder_k.register_forward_hook(
        lambda m, args, out: calls.append(args[0].shape[0]))
    im_q = torch.rand(3, 3, 16, 16)
    q, k, negs, z = enc.features(im_q, im_q.flip(-2),
                                 torch.rand(3, 4, 3, 16, 16))
    assert calls == [3 * (1 + 4)]
    assert q.shape == k.shape == (3, 16, 2, 2)
    assert negs.shape == (3, 4, 16, 2, 2) and z.shape == (3, 8)
    assert q.requires_grad and z.requires_grad
    assert not k.requires_grad and not negs.requires_grad


def test_momentum_update():
    torch.manual_seed(0)
    enc = MomentumEncoder(mid_channels=2, code_dim=8, momentum=0.75)
    with torch.no_grad():
        for p in enc.encoder_k.parameters():
            p.normal_()
    q = [p.clone() for p in enc.encoder_q.parameters()]
    k = [p.clone() for p in enc.encoder_k.parameters()]
    enc.momentum_update()
    for p, p_q, p_k in zip(enc.encoder_k.parameters(), q, k):
        torch.testing.assert_close(p, 0.75 * p_k + 0.25 * p_q)
    for p, p_q in zip(enc.encoder_q.parameters(), q):
        assert torch.equal(p, p_q)
    with pytest.raises(ValueError, match='momentum'):
        MomentumEncoder(momentum=1.5)


def test_key_and_query_codes():
    torch.manual_seed(0)
    enc = MomentumEncoder(mid_channels=2, code_dim=8).eval()
    with torch.no_grad():
        for p in enc.encoder_k.parameters():
            p.add_(0.1)
    x = torch.rand(2, 3, 16, 16)
    z_k = enc.key_code(x)
    torch.testing.assert_close(z_k, enc.encoder_k(x).code)
    torch.testing.assert_close(enc.query_code(x), enc.encoder_q(x).code)
    assert not torch.allclose(z_k, enc.query_code(x))
    torch.testing.assert_close(z_k.norm(dim=1), torch.ones(2))


def test_shapes_are_validated():
    enc = MomentumEncoder(mid_channels=2, code_dim=8)
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match=r'im_negs \(B, N, C, h, w\)'):
        enc(x, x, torch.rand(2, 3, 16, 16))
    with pytest.raises(ValueError, match='im_q and im_k'):
        enc(x, x[:1], torch.rand(2, 1, 3, 16, 16))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        enc.encoder_q(x[0])


def test_loads_full_official_state_dict_layout():
    torch.manual_seed(0)
    src = MomentumEncoder()
    dst = MomentumEncoder()
    dst.load_state_dict(src.state_dict())  # strict
    x = torch.rand(1, 3, 32, 32)
    dst.eval()
    src.eval()
    torch.testing.assert_close(dst.key_code(x), src.key_code(x))
    assert dst.key_code(x).shape == (1, 128)
