# Copyright (c) mmderain contributors. All rights reserved.
"""The CoI-M modulated convolution (``mmderain.ops.modulated_conv``): the
batched and memory-lean paths against the naive per-sample loop and the
official formula, gradients (gradcheck in float64), the Triton kernel
(through Triton's interpreter on CPU; on CUDA when available), and the
official ``TConv`` outputs of ``tests/data/coic_parity_small.pth``.

The fixture ``tests/data/coic_parity_small.pth`` (276 KB) holds outputs of
the OFFICIAL CoIC classes (``Schizophreni/CoIC`` commit 8c99e73) run on CPU
with seeded random weights, and of the official ``BRN_CoIM`` with the
shipped checkpoints; no checkpoint weights are stored. It is used here, in
``tests/test_models/test_layers/test_coim_conv.py`` and
``tests/test_models/test_archs/test_coic_encoder.py``. To regenerate it:

1. copy the official files into a scratch directory::

       mkdir -p /tmp/coic_official/models && cd /tmp/coic_official
       G="git --git-dir=/work/.mirror/Schizophreni+CoIC/repo"
       for f in CoIM contrastive BRN_CoIM; do
           $G show HEAD:models/$f.py > models/$f.py; done
       touch models/__init__.py

2. the only edit: ``MoCo.forward``'s labels are created with ``.cuda()``;
   create them on the CPU::

       sed -i 's/dtype=torch.long).cuda()/dtype=torch.long)/' \
           models/contrastive.py

   (``BRN_CoIM`` moves its zero states with ``.cuda()`` only when
   ``opt.use_GPU``, set to False below; ``CoIM.py`` is unchanged);

3. save the script below as ``make.py`` and run, from
   ``/tmp/coic_official``, with the project's environment (PyTorch 2.12,
   CPU, ``OMP_NUM_THREADS=1``) and the official checkpoints
   ``checkpoints/CoIC/brn_model.pth`` and ``checkpoints/Baseline/
   brn_model.pth`` of the official repository copied to
   ``/work/shared/data/checkpoints_official/coic/brn_coic.pth`` and
   ``brn_baseline.pth``::

       python make.py /work/main/tests/data/coic_parity_small.pth

   (it prints ``mean |tran - normal| 0.04623667523264885``)::

       import argparse
       import collections
       import sys

       import torch
       import torch.nn.functional as F

       sys.path.insert(0, '/tmp/coic_official')
       from models.BRN_CoIM import BRN  # noqa: E402
       from models.CoIM import TConv  # noqa: E402
       from models.contrastive import MoCo  # noqa: E402

       fix = dict(meta=dict(repo='Schizophreni/CoIC', commit='8c99e73',
                            torch=str(torch.__version__)))

       # 1. TConv: (C_in, C_out, k, stride, padding, dilation, groups, bias)
       CASES = dict(dense=(6, 8, 3, 1, 1, 1, 1, True),
                    strided=(8, 6, 3, 2, 2, 2, 1, False),
                    kernel5=(4, 5, 5, 1, 2, 1, 1, True),
                    grouped=(8, 16, 3, 1, 1, 1, 4, True),
                    depthwise=(16, 16, 3, 1, 1, 1, 16, True),
                    pointwise=(6, 8, 1, 1, 0, 1, 1, True))
       D = 8
       fix['tconv'] = {}
       for idx, (name, case) in enumerate(CASES.items()):
           ci, co, k, s, p, d, g, bias = case
           torch.manual_seed(100 + idx)
           layer = TConv(ci, co, D, k, s, p, d, g, bias)
           with torch.no_grad():  # make the modulation material
               layer.g2pa_wgen[4].weight.mul_(5.)
               layer.g2pa_wgen[4].bias.normal_(0., 2.)
           x = torch.randn(2, ci, 6, 7)
           z = F.normalize(torch.randn(2, D), dim=-1)
           with torch.no_grad():
               out, _ = layer(x, z, 'tran')
               out_normal, _ = layer(x, None, 'normal')
           fix['tconv'][name] = dict(
               args=dict(in_channels=ci, out_channels=co, kernel_size=k,
                         stride=s, padding=p, dilation=d, groups=g,
                         bias=bias, code_dim=D),
               state_dict=collections.OrderedDict(
                   (kk, v.clone()) for kk, v in layer.state_dict().items()),
               x=x, z=z, out=out)
           if name == 'dense':
               fix['tconv'][name]['out_normal'] = out_normal

       # 2. encoder: MoCo(3, 2, 8), encoder_k != encoder_q, random BN state
       torch.manual_seed(7)
       moco = MoCo(in_channels=3, out_channels=2, dim=8, m=0.999,
                   temperature=1.0)
       with torch.no_grad():
           for name, t in moco.named_parameters():
               if name.startswith('encoder_k.'):
                   t.add_(0.05 * torch.randn_like(t))
           for mod in moco.modules():
               if isinstance(mod, torch.nn.BatchNorm2d):
                   mod.weight.normal_(1., 0.2)
                   mod.bias.normal_(0., 0.2)
                   mod.running_mean.normal_(0., 0.3)
                   mod.running_var.uniform_(0.5, 2.)
       state_before = collections.OrderedDict(
           (kk, v.clone()) for kk, v in moco.state_dict().items())
       x_eval = torch.rand(2, 3, 16, 16)
       moco.eval()
       with torch.no_grad():
           z_eval, feat_eval = moco.encoder_q(x_eval)
       im_q = torch.rand(2, 3, 16, 16)
       im_k = im_q.flip(-1)
       im_negs = torch.rand(2, 2, 3, 16, 16)
       moco.train()
       logits, labels, z_q = moco(im_q, im_k, im_negs)
       fix['encoder'] = dict(
           args=dict(in_channels=3, mid_channels=2, code_dim=8,
                     momentum=0.999),
           state_before=state_before, x_eval=x_eval, z_eval=z_eval,
           feat_eval=feat_eval, im_q=im_q, im_negs=im_negs,  # im_k not stored
           logits=logits.detach(), z_q=z_q.detach(),
           state_after=collections.OrderedDict(  # the entries that changed
               (kk, v.clone()) for kk, v in moco.state_dict().items()
               if not torch.equal(v, state_before[kk])))
       full = MoCo(3, 32, 128)
       fix['moco_full_shapes'] = [(kk, tuple(v.shape))
                                  for kk, v in full.state_dict().items()]

       # 3. BRN_CoIM with the shipped checkpoints
       ckpt = '/work/shared/data/checkpoints_official/coic/'
       opt = argparse.Namespace(inter_iter=8, use_GPU=False, dim_in=128)
       net = BRN(opt).eval()
       net.load_state_dict(
           torch.load(ckpt + 'brn_coic.pth', map_location='cpu'))
       g = torch.Generator().manual_seed(2024)
       img = torch.rand(1, 3, 24, 24, generator=g)
       z = F.normalize(torch.randn(1, 128, generator=g), dim=-1)
       with torch.no_grad():
           out_tran = net(img, z, 'tran')
           out_normal = net(img, None, 'normal')
       base = BRN(opt).eval()
       remapped = {}
       sd = torch.load(ckpt + 'brn_baseline.pth', map_location='cpu')
       # spec B11: <unit>.0.* -> <unit>.conv.base_conv.conv.*,
       # res_convK[_r].{0,2}.* -> res_convK[_r].conv{1,2}.base_conv.conv.*
       for kk, v in sd.items():
           unit, idx, rest = kk.split('.', 2)
           sub = 'conv'
           if unit.startswith('res_'):
               sub = f'conv{1 + int(idx) // 2}'
           remapped[f'{unit}.{sub}.base_conv.conv.{rest}'] = v
       missing, unexpected = base.load_state_dict(remapped, strict=False)
       assert not unexpected, unexpected
       assert all('g2pa' in m for m in missing), missing
       with torch.no_grad():
           out_base = base(img, None, 'normal')
       fix['brn'] = dict(input=img, z=z, out_tran=out_tran,
                         out_normal=out_normal, out_baseline_normal=out_base)
       print('mean |tran - normal|',
             (out_tran - out_normal).abs().mean().item())
       torch.save(fix, sys.argv[1])
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from mmderain.ops import modulated_conv as mc
from mmderain.ops.modulated_conv import (coim_modulation,
                                         coim_modulation_reference,
                                         instance_modulated_conv2d,
                                         instance_modulated_conv2d_reference,
                                         triton_available)

FIXTURE = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
    'coic_parity_small.pth')

# (B, C_in, C_out, kernel, stride, padding, dilation, groups, bias)
CONV_CASES = {
    'dense': (3, 6, 8, 3, 1, 1, 1, 1, True),
    'strided_dilated': (2, 8, 6, 3, 2, 2, 2, 1, False),
    'grouped': (2, 8, 12, 3, 1, 1, 1, 4, True),
    'depthwise': (2, 8, 8, 3, 1, 1, 1, 8, True),
    'kernel5': (2, 4, 5, 5, 1, 2, 1, 1, True),
    'non_square': (2, 4, 6, (1, 3), 1, (0, 1), 1, 1, True),
    'same_even': (2, 5, 7, 2, 1, 'same', 2, 1, True),
}


def _vectors(b, c_out, c_in_g, taps, dtype=torch.float32, seed=0, scale=3.):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(b, n, generator=g, dtype=dtype) * scale)
            for n in (c_out, c_in_g, taps)]


def _conv_inputs(case, dtype=torch.float32, seed=0, size=(9, 10)):
    b, ci, co, k, stride, padding, dilation, groups, bias = case
    kh, kw = (k, k) if isinstance(k, int) else k
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, ci, *size, generator=g, dtype=dtype)
    weight = torch.randn(
        co, ci // groups, kh, kw, generator=g, dtype=dtype) * 0.3
    bias_t = torch.randn(co, generator=g, dtype=dtype) if bias else None
    w1, w2, w3 = _vectors(b, co, ci // groups, kh * kw, dtype, seed + 1)
    kwargs = dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups)
    return [x, weight, bias_t, w1, w2, w3], kwargs


def _grads(fn, tensors, kwargs, grad_out_seed=5):
    tensors = [
        None if t is None else t.detach().clone().requires_grad_()
        for t in tensors
    ]
    out = fn(*tensors, **kwargs)
    g = torch.Generator().manual_seed(grad_out_seed)
    out.backward(
        torch.randn(out.shape, generator=g, dtype=out.dtype).to(out.device))
    return out.detach(), [None if t is None else t.grad for t in tensors]


def test_modulation_matches_official_formula_and_layout():
    w1, w2, w3 = _vectors(2, 5, 3, 9)
    a = coim_modulation(w1, w2, w3)
    ref = coim_modulation_reference(w1, w2, w3)
    assert a.shape == (2, 5, 3, 9)
    # float32 rounding differs between CPUs: relative tolerance
    torch.testing.assert_close(a, ref, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(a.mean(-1), torch.ones(2, 5, 3))
    # the official `view`: W[o', i'] pairs with w1[m % C_out] and
    # w2[m // C_out] for m = o' * C_in/G + i' (not w1[o'], w2[i'])
    b, o_, i_ = 1, 3, 2
    m = o_ * 3 + i_
    t = torch.sigmoid(w1[b, m % 5] + w2[b, m // 5])
    expected = 9 * torch.softmax(t * w3[b], 0)
    torch.testing.assert_close(a[b, o_, i_], expected, rtol=1e-6, atol=1e-6)
    naive = 9 * torch.softmax(torch.sigmoid(w1[b, o_] + w2[b, i_]) * w3[b], 0)
    assert not torch.allclose(a[b, o_, i_], naive, atol=1e-3)


def test_modulation_gradients():
    w = [t.double().requires_grad_() for t in _vectors(2, 4, 3, 9)]
    assert torch.autograd.gradcheck(coim_modulation, w)
    w32 = _vectors(3, 6, 5, 9, seed=3)
    _, g_ours = _grads(coim_modulation, w32, {})
    _, g_ref = _grads(coim_modulation_reference, w32, {})
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_modulation_backward_keeps_only_the_vectors():
    w = [t.requires_grad_() for t in _vectors(2, 8, 8, 9)]
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(tuple(t.shape)) or t, lambda t: t):
        coim_modulation(*w)
    assert sorted(saved) == sorted([(2, 8), (2, 8), (2, 9)])


def test_modulation_validates():
    w1, w2, w3 = _vectors(2, 4, 3, 9)
    with pytest.raises(ValueError, match='same batch size'):
        coim_modulation(w1, w2[:1], w3)
    with pytest.raises(ValueError, match=r'\(B, C_out\)'):
        coim_modulation(w1[0], w2, w3)
    with pytest.raises(ValueError, match='backend'):
        coim_modulation(w1, w2, w3, backend='cuda')


@pytest.mark.parametrize('memory_efficient', [True, False])
@pytest.mark.parametrize('case', list(CONV_CASES))
def test_batched_conv_equals_per_sample_loop(case, memory_efficient):
    tensors, kwargs = _conv_inputs(CONV_CASES[case])
    out_ref, g_ref = _grads(instance_modulated_conv2d_reference, tensors,
                            kwargs)
    out, g = _grads(instance_modulated_conv2d, tensors,
                    dict(kwargs, memory_efficient=memory_efficient))
    torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-5)
    names = ('x', 'weight', 'bias', 'w1', 'w2', 'w3')
    for name, a, b in zip(names, g, g_ref):
        if b is None:
            assert a is None, name
            continue
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=name)


def test_same_padding_matches_conv2d():
    tensors, kwargs = _conv_inputs(CONV_CASES['same_even'])
    out = instance_modulated_conv2d(*tensors, **kwargs)
    assert out.shape[2:] == tensors[0].shape[2:]


@pytest.mark.parametrize('memory_efficient', [True, False])
@pytest.mark.parametrize('case',
                         ['dense', 'strided_dilated', 'grouped', 'same_even'])
def test_gradcheck_float64(case, memory_efficient):
    tensors, kwargs = _conv_inputs(
        CONV_CASES[case], torch.float64, size=(5, 6))
    tensors = [None if t is None else t.requires_grad_() for t in tensors]

    def fn(*args):
        return instance_modulated_conv2d(
            *args, **kwargs, memory_efficient=memory_efficient)

    assert torch.autograd.gradcheck(fn, tensors)


def test_memory_efficient_path_keeps_no_modulated_kernel():
    tensors, kwargs = _conv_inputs(CONV_CASES['dense'])
    tensors = [t.requires_grad_() for t in tensors]
    x, weight = tensors[:2]

    def saved_shapes(memory_efficient):
        shapes = []
        with torch.autograd.graph.saved_tensors_hooks(
                lambda t: shapes.append(tuple(t.shape)) or t, lambda t: t):
            instance_modulated_conv2d(
                *tensors, **kwargs, memory_efficient=memory_efficient)
        return shapes

    lean = saved_shapes(True)
    assert sorted(lean) == sorted(
        [tuple(x.shape),
         tuple(weight.shape), (3, 8), (3, 6), (3, 9)])
    # the autograd dataflow also keeps A and W * A (B * C_out kernels)
    assert (3 * 8, 6, 3, 3) in saved_shapes(False)


def test_only_requested_gradients():
    tensors, kwargs = _conv_inputs(CONV_CASES['dense'])
    x = tensors[0].requires_grad_()
    out = instance_modulated_conv2d(*tensors, **kwargs)
    out.sum().backward()
    assert x.grad is not None and tensors[1].grad is None
    ref = instance_modulated_conv2d_reference(x.detach().requires_grad_(),
                                              *tensors[1:], **kwargs)
    assert torch.allclose(out, ref, atol=1e-5)


def test_autocast_uses_autograd_dataflow():
    tensors, kwargs = _conv_inputs(CONV_CASES['dense'])
    ref = instance_modulated_conv2d_reference(*tensors, **kwargs)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = instance_modulated_conv2d(*tensors, **kwargs)
    torch.testing.assert_close(out.float(), ref, rtol=0.05, atol=0.1)


def test_conv_validates_shapes():
    tensors, kwargs = _conv_inputs(CONV_CASES['dense'])
    x, weight, bias, w1, w2, w3 = tensors
    with pytest.raises(ValueError, match='w1, w2, w3 must be'):
        instance_modulated_conv2d(x, weight, bias, w1, w2[:, :3], w3, **kwargs)
    with pytest.raises(ValueError, match='w1, w2, w3 must be'):
        instance_modulated_conv2d(x[:2], weight, bias, w1, w2, w3, **kwargs)
    with pytest.raises(ValueError, match='input channels'):
        instance_modulated_conv2d(x[:, :4], weight, bias, w1, w2, w3, **kwargs)
    with pytest.raises(ValueError, match='bias must be'):
        instance_modulated_conv2d(x, weight, bias[:3], w1, w2, w3, **kwargs)
    with pytest.raises(ValueError, match='stride 1'):
        instance_modulated_conv2d(
            x, weight, bias, w1, w2, w3, stride=2, padding='same')


def _official_tconv_vectors(sd, x, z, c_out, c_in_g):
    s = torch.cat([z, x.mean(dim=(2, 3))], -1)
    h = F.relu(F.linear(s, sd['g2pa_wgen.0.weight'], sd['g2pa_wgen.0.bias']))
    h = F.relu(F.linear(h, sd['g2pa_wgen.2.weight'], sd['g2pa_wgen.2.bias']))
    a = F.linear(h, sd['g2pa_wgen.4.weight'], sd['g2pa_wgen.4.bias'])
    return a[:, :c_out], a[:, c_out:c_out + c_in_g], a[:, c_out + c_in_g:]


@pytest.mark.parametrize(
    'case', ['dense', 'strided', 'kernel5', 'grouped', 'depthwise'])
def test_op_reproduces_official_tconv(case):
    fix = torch.load(FIXTURE)['tconv'][case]
    args, sd = fix['args'], fix['state_dict']
    w = _official_tconv_vectors(sd, fix['x'], fix['z'], args['out_channels'],
                                args['in_channels'] // args['groups'])
    out = instance_modulated_conv2d(fix['x'], sd['base_conv.conv.weight'],
                                    sd.get('base_conv.conv.bias'), *w,
                                    args['stride'], args['padding'],
                                    args['dilation'], args['groups'])
    torch.testing.assert_close(out, fix['out'], rtol=0, atol=1e-5)
    # the modulation is material: the plain convolution is far off
    plain = F.conv2d(fix['x'], sd['base_conv.conv.weight'],
                     sd.get('base_conv.conv.bias'), args['stride'],
                     args['padding'], args['dilation'], args['groups'])
    assert (plain - fix['out']).abs().max() > 1e-2


_TRITON_SCRIPT = textwrap.dedent('''
    import torch
    from mmderain.ops.modulated_conv import (coim_modulation,
                                             coim_modulation_reference)
    g = torch.Generator().manual_seed(0)
    worst = 0.
    for b, co, cig, taps in ((2, 8, 6, 9), (3, 5, 1, 25), (1, 3, 7, 4),
                             (2, 130, 3, 9)):
        w = [torch.randn(b, n, generator=g) * 3 for n in (co, cig, taps)]
        a = coim_modulation(*w, backend='triton')
        worst = max(worst,
                    (a - coim_modulation_reference(*w)).abs().max().item())
    print('WORST', worst)
''')


@pytest.mark.skipif(not triton_available(), reason='Triton not installed')
def test_triton_kernel_in_interpreter_mode():
    """The CUDA kernel's code, run by Triton's interpreter on CPU tensors."""
    env = dict(os.environ, TRITON_INTERPRET='1')
    proc = subprocess.run([sys.executable, '-c', _TRITON_SCRIPT],
                          capture_output=True,
                          text=True,
                          env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(proc.stdout.split('WORST')[1]) < 1e-5


def test_triton_backend_needs_triton(monkeypatch):
    monkeypatch.setattr(mc, 'triton', None)
    w = _vectors(2, 4, 3, 9)
    with pytest.raises(RuntimeError, match='Triton'):
        coim_modulation(*w, backend='triton')
    # 'auto' falls back to PyTorch
    torch.testing.assert_close(
        coim_modulation(*w),
        coim_modulation_reference(*w),
        rtol=1e-6,
        atol=1e-6)


@pytest.mark.skipif(
    not (torch.cuda.is_available() and triton_available()),
    reason='needs CUDA and Triton')
@pytest.mark.parametrize('case', ['dense', 'grouped', 'depthwise'])
def test_cuda_paths(case):  # pragma: no cover - needs a GPU
    tensors, kwargs = _conv_inputs(CONV_CASES[case])
    tensors = [None if t is None else t.cuda() for t in tensors]
    a = coim_modulation(*tensors[3:])  # auto: the Triton kernel
    torch.testing.assert_close(
        a, coim_modulation_reference(*tensors[3:]), rtol=0, atol=1e-5)
    out_ref, g_ref = _grads(instance_modulated_conv2d_reference, tensors,
                            kwargs)
    out, g = _grads(instance_modulated_conv2d, tensors, kwargs)
    torch.testing.assert_close(out, out_ref, rtol=1e-4, atol=1e-4)
    for a, b in zip(g, g_ref):
        if b is not None:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
