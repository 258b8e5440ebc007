# Copyright (c) mmderain contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmderain.models.archs import PReNet

VARIANTS = [('lstm', False), ('lstm', True), (None, False), (None, True)]


@pytest.mark.parametrize('recurrent,share', VARIANTS)
def test_prenet_shapes_and_stages(recurrent, share):
    net = PReNet(
        num_stages=3,
        mid_channels=8,
        num_res_blocks=2,
        recurrent=recurrent,
        share_res_blocks=share)
    x = torch.rand(2, 3, 13, 17)
    out = net(x)
    assert out.shape == x.shape
    stages = net(x, return_stages=True)
    assert len(stages) == 3
    assert torch.equal(stages[-1], out)
    assert len(net.res_blocks) == (1 if share else 2)
    assert (net.lstm is None) == (recurrent is None)


def test_prenet_invalid_args():
    with pytest.raises(ValueError, match='recurrent'):
        PReNet(recurrent='gru')
    with pytest.raises(ValueError, match='num_stages'):
        PReNet(num_stages=0)


# --------------------------------------------------------------------------
# fast paths: fused gates and point-wise update, in-place inference,
# channels-last features; outputs and gradients equal the plain dataflow
# --------------------------------------------------------------------------
def _plain_forward(net, x):
    """The official dataflow on ``net``'s own parameters (gate kernel split
    into four, ``cat`` + head every stage, out-of-place activations)."""
    c = net.head.weight.shape[0]

    def conv(t, w, b):
        return F.conv2d(t, w, b, padding=1)

    out, h, cell = x, torch.zeros_like(x[:, :1]).expand(
        -1, c, -1, -1), torch.zeros_like(x[:, :1]).expand(-1, c, -1, -1)
    stages = []
    for _ in range(net.num_stages):
        f = F.relu(
            conv(torch.cat([x, out], 1), net.head.weight, net.head.bias))
        if net.lstm is not None:
            z = torch.cat([f, h], 1)
            w, b = net.lstm.gates.weight, net.lstm.gates.bias
            i, fg, g, o = (
                conv(z, w[k * c:(k + 1) * c], b[k * c:(k + 1) * c])
                for k in range(4))
            cell = torch.sigmoid(fg) * cell + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(cell)
            f = h
        for k in range(net.num_res_blocks):
            blk = net.res_blocks[0 if net.share_res_blocks else k]
            r = F.relu(
                conv(
                    F.relu(conv(f, blk.conv1.weight, blk.conv1.bias)),
                    blk.conv2.weight, blk.conv2.bias))
            f = F.relu(r + f)
        out = conv(f, net.tail.weight, net.tail.bias) + x
        stages.append(out)
    return stages


def _net(recurrent, share, channels_last=None, seed=0):
    torch.manual_seed(seed)
    net = PReNet(
        num_stages=4,
        mid_channels=8,
        num_res_blocks=3,
        recurrent=recurrent,
        share_res_blocks=share,
        channels_last=channels_last)
    with torch.no_grad():  # larger weights than the default init
        for p in net.parameters():
            p.mul_(2)
    return net


@pytest.mark.parametrize('recurrent,share', VARIANTS)
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('mode', ['inference_mode', 'no_grad', 'frozen'])
def test_fast_inference_equals_plain_dataflow(recurrent, share, channels_last,
                                              mode):
    net = _net(recurrent, share, channels_last).eval()
    x = torch.rand(2, 3, 13, 11)
    with torch.no_grad():
        expected = _plain_forward(net, x)
    if mode == 'inference_mode':
        with torch.inference_mode():
            stages = net(x, return_stages=True)
    elif mode == 'no_grad':
        with torch.no_grad():
            stages = net(x, return_stages=True)
    else:  # autograd on, nothing requires grad: fast path as well
        net.requires_grad_(False)
        stages = net(x, return_stages=True)
    assert len(stages) == len(expected)
    for ours, ref in zip(stages, expected):
        assert ours.is_contiguous()
        # float32 rounding only: well below 1e-6 of the output scale
        scale = ref.abs().max().item()
        assert (ours - ref).abs().max().item() <= 1e-6 * max(scale, 1.)


@pytest.mark.parametrize('recurrent,share', VARIANTS)
@pytest.mark.parametrize('channels_last', [False, True])
def test_training_gradients_equal_plain_dataflow(recurrent, share,
                                                 channels_last):
    net = _net(recurrent, share, channels_last).double().train()
    x = torch.rand(2, 3, 9, 10, dtype=torch.float64)
    weights = [torch.randn(2, 3, 9, 10, dtype=torch.float64)] * 4

    def grads(fn):
        net.zero_grad()
        xg = x.clone().requires_grad_()
        loss = sum((s * w).sum() for s, w in zip(fn(xg), weights))
        loss.backward()
        return [p.grad.clone() for p in net.parameters()] + [xg.grad]

    ours = grads(lambda t: net(t, return_stages=True))
    ref = grads(lambda t: _plain_forward(net, t))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_res_block_skips_only_redundant_relu():
    from mmderain.models.archs.prenet import ResBlock
    torch.manual_seed(0)
    block = ResBlock(4)
    x = torch.rand(1, 4, 7, 7)  # non-negative, as after a ReLU
    with torch.no_grad():
        assert torch.equal(block(x, nonneg_input=True), block(x))
        signed = torch.randn(1, 4, 7, 7)
        assert (block(signed) >= 0).all()
    # with autograd the final ReLU stays (its gradient at 0 is 0)
    xg = x.clone().requires_grad_()
    block(xg, nonneg_input=True).sum().backward()
    ref = x.clone().requires_grad_()
    F.relu(F.relu(block.conv2(F.relu(block.conv1(ref)))) +
           ref).sum().backward()
    torch.testing.assert_close(xg.grad, ref.grad, rtol=0, atol=0)


def test_state_dict_keys_unchanged():
    """The fast paths keep the module tree of the shipped checkpoints."""
    keys = set(PReNet().state_dict())
    expected = {'head.weight', 'head.bias', 'tail.weight', 'tail.bias'}
    expected |= {f'lstm.gates.{p}' for p in ('weight', 'bias')}
    expected |= {
        f'res_blocks.{k}.conv{j}.{p}'
        for k in range(5) for j in (1, 2) for p in ('weight', 'bias')
    }
    assert keys == expected
