# Copyright (c) mmderain contributors. All rights reserved.
"""GroupedOptimWrapperConstructor: one optimiser per group of sub-modules."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapperDict

from mmderain.engine.optimizers import GroupedOptimWrapperConstructor
from mmderain.registry import OPTIM_WRAPPER_CONSTRUCTORS


class _Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2)
        self.b = nn.Linear(2, 3)
        self.c = nn.Conv2d(1, 1, 1)
        self.loss = nn.MSELoss()  # no parameters: needs no group


def _cfg(lr_ab=1e-4):
    return dict(
        ab=dict(
            type='OptimWrapper',
            optimizer=dict(type='Adam', lr=lr_ab),
            modules=('a', 'b')),
        c=dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-2),
            paramwise_cfg=dict(bias_decay_mult=0.)))


def test_groups_own_their_modules():
    model = _Model()
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type='GroupedOptimWrapperConstructor', optim_wrapper_cfg=_cfg()))
    assert isinstance(ctor, GroupedOptimWrapperConstructor)
    wrappers = ctor(model)
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'ab', 'c'}
    ab = wrappers['ab'].optimizer
    assert isinstance(ab, torch.optim.Adam)
    ab_params = {id(p) for g in ab.param_groups for p in g['params']}
    expected = {id(p) for m in (model.a, model.b) for p in m.parameters()}
    assert ab_params == expected and ab.param_groups[0]['lr'] == 1e-4
    sgd = wrappers['c'].optimizer
    decays = sorted(g['weight_decay'] for g in sgd.param_groups)
    assert decays == [0., 1e-2]  # paramwise_cfg per group (bias: no decay)
    # one step of 'ab' moves a and b only
    before = model.c.weight.detach().clone()
    loss = model.a(torch.ones(1, 2)).sum() + model.b(torch.ones(1, 2)).sum()
    wrappers['ab'].update_params(loss)
    assert torch.equal(model.c.weight, before)


def test_errors():
    model = _Model()
    with pytest.raises(KeyError, match="no sub-module \\['z'\\]"):
        GroupedOptimWrapperConstructor(
            dict(
                _cfg(),
                c=dict(
                    type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=0.1),
                    modules=('c', 'z'))))(
                        model)
    with pytest.raises(KeyError, match="a.weight is in optim_wrapper.ab and"):
        GroupedOptimWrapperConstructor(
            dict(
                _cfg(),
                c=dict(
                    type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=0.1),
                    modules=('a', 'c'))))(
                        model)
    cfg = _cfg()
    del cfg['c']
    with pytest.raises(KeyError, match="2 trainable.*'c.weight', 'c.bias'"):
        GroupedOptimWrapperConstructor(cfg)(model)
    with pytest.raises(ValueError, match='paramwise_cfg inside each group'):
        GroupedOptimWrapperConstructor(_cfg(), paramwise_cfg=dict())
    with pytest.raises(ValueError, match='must be a dict'):
        GroupedOptimWrapperConstructor(dict(ab=1))


class _Modulated(nn.Module):

    def __init__(self):
        super().__init__()
        self.generator = nn.ModuleDict(
            dict(conv=nn.Conv2d(1, 1, 3), g2pa=nn.Linear(2, 2)))
        self.encoder = nn.Linear(2, 2)


def _split_cfg():
    return dict(
        base=dict(
            type='OptimWrapper',
            optimizer=dict(type='Adam', lr=1e-3),
            modules=('generator', ),
            exclude=dict(generator='g2pa')),
        tran=dict(
            type='OptimWrapper',
            optimizer=dict(type='Adam', lr=2e-3),
            modules=('generator', 'encoder'),
            include=dict(generator='g2pa')))


def _ids(wrapper):
    return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}


def test_parameter_filters_split_a_module():
    model = _Modulated()
    wrappers = GroupedOptimWrapperConstructor(_split_cfg())(model)
    gen = model.generator
    assert _ids(wrappers['base']) == {id(p) for p in gen.conv.parameters()}
    assert _ids(wrappers['tran']) == {
        id(p)
        for p in [*gen.g2pa.parameters(), *model.encoder.parameters()]
    }
    # a step of 'tran' leaves the base convolution alone
    before = gen.conv.weight.detach().clone()
    loss = gen.conv(torch.ones(1, 1, 3, 3)).sum() + gen.g2pa(torch.ones(
        1, 2)).sum() + model.encoder(torch.ones(1, 2)).sum()
    loss.backward()
    wrappers['tran'].step()
    assert torch.equal(gen.conv.weight, before)


def test_parameter_filter_errors():
    model = _Modulated()
    cfg = _split_cfg()
    del cfg['tran']['include']  # the whole generator in both groups
    with pytest.raises(KeyError, match='generator.conv.weight is in'):
        GroupedOptimWrapperConstructor(cfg)(model)
    cfg = _split_cfg()
    cfg['tran']['include'] = dict(generator='nothing')
    with pytest.raises(KeyError, match='belong to no optim_wrapper'):
        GroupedOptimWrapperConstructor(cfg)(model)
    cfg = _split_cfg()
    cfg['base']['exclude'] = dict(encoder='x')
    with pytest.raises(ValueError, match="names \\['encoder'\\]"):
        GroupedOptimWrapperConstructor(cfg)
