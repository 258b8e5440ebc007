# Copyright (c) mmderain contributors. All rights reserved.
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import init_default_scope

from mmderain.models import CoICDerainer, VRGNet
from mmderain.models.base_models import MultiOptimDerainer
from tests._helpers import ROOT


class TwoNets(MultiOptimDerainer):
    """A generator and a second network, one optimiser each."""

    optim_wrapper_names = ('generator', 'aux')
    optim_wrapper_help = 'groups generator and aux (see TwoNets)'

    def __init__(self):
        init_default_scope('mmderain')
        super().__init__(
            generator=dict(
                type='PReNet', num_stages=1, mid_channels=4, num_res_blocks=1),
            pixel_loss=dict(type='mmagic.L1Loss'))
        self.aux = torch.nn.Conv2d(3, 3, 1)


def _wrappers(model, names=('generator', 'aux')):
    sgd = [
        torch.optim.SGD(getattr(model, n).parameters(), lr=0.1) for n in names
    ]
    return OptimWrapperDict(
        **{n: OptimWrapper(opt)
           for n, opt in zip(names, sgd)})


def test_check_optim_wrappers_names_the_missing_ones_and_the_remedy():
    model = TwoNets()
    model.check_optim_wrappers(_wrappers(model))
    with pytest.raises(KeyError) as err:
        model.check_optim_wrappers(_wrappers(model, ('generator', )))
    msg = str(err.value)
    assert "TwoNets needs optimizer wrappers ['aux']" in msg
    assert "given: ['generator']" in msg
    assert 'groups generator and aux (see TwoNets)' in msg
    # a step that needs fewer wrappers names them
    model.check_optim_wrappers(_wrappers(model, ('aux', )), ('aux', ))
    single = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match='single OptimWrapper'):
        model.check_optim_wrappers(single)


def test_default_help_names_the_constructor():
    model = TwoNets()
    model.optim_wrapper_help = ''
    with pytest.raises(KeyError, match='GroupedOptimWrapperConstructor'):
        model.check_optim_wrappers({})


def test_update_wrappers_steps_each_after_one_backward():
    torch.manual_seed(0)
    model = TwoNets()
    wrappers = _wrappers(model)
    gen = [p.detach().clone() for p in model.generator.parameters()]
    aux = model.aux.weight.detach().clone()
    x = torch.rand(1, 3, 8, 8)
    loss = model.generator(model.aux(x)).abs().mean()
    model.update_wrappers(wrappers, ('generator', 'aux'), loss)
    assert any(not torch.equal(a, b)
               for a, b in zip(gen, model.generator.parameters()))
    assert not torch.equal(aux, model.aux.weight)
    # gradients are zeroed (set to None) after the step
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    # only the named wrappers step
    aux = model.aux.weight.detach().clone()
    loss = model.generator(model.aux(x)).abs().mean()
    model.update_wrappers(wrappers, ('generator', ), loss)
    assert torch.equal(aux, model.aux.weight)
    with pytest.raises(ValueError, match='at least one'):
        model.update_wrappers(wrappers, (), loss)


def test_train_step_is_the_method_s_own():
    model = TwoNets()
    with pytest.raises(NotImplementedError, match='TwoNets'):
        model.train_step({}, _wrappers(model))


@pytest.mark.parametrize('model,schedule', [
    (VRGNet, 'vrgnet_adam_700e.py'),
    (CoICDerainer, 'coic_adam_260k.py'),
])
def test_methods_declare_the_groups_of_their_schedules(model, schedule):
    assert issubclass(model, MultiOptimDerainer)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', '_base_', 'schedules', schedule))
    groups = {k for k, v in cfg.optim_wrapper.items() if isinstance(v, dict)}
    assert set(model.optim_wrapper_names) == groups
    assert schedule in model.optim_wrapper_help


def test_no_param_grad_keeps_gradients_out_of_a_network():
    model = TwoNets()
    model.generator.requires_grad_(False)  # frozen before: stays frozen
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    with model.no_param_grad(model.aux, model.generator):
        assert not any(p.requires_grad for p in model.parameters())
        model.aux(x).sum().backward()
    assert x.grad is not None and model.aux.weight.grad is None
    assert model.aux.weight.requires_grad
    assert not any(p.requires_grad for p in model.generator.parameters())
    with pytest.raises(RuntimeError, match='boom'):
        with model.no_param_grad(model.aux):
            raise RuntimeError('boom')
    assert model.aux.weight.requires_grad
