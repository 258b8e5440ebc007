# Copyright (c) mmderain contributors. All rights reserved.
"""min_filter/max_filter equal max pooling: values, and CPU gradients bit
for bit, ties included (first maximal (channel, row, column) wins)."""
import pytest
import torch
import torch.nn.functional as F

from mmderain.ops import (max_filter, max_filter_reference, min_filter,
                          min_filter_reference)


def _data(kind, shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == 'float':
        return torch.rand(shape, generator=g)
    if kind == 'uint8':  # an 8-bit image: many equal values per window
        return torch.randint(0, 256, shape, generator=g).float() / 255
    return torch.randint(0, 3, shape, generator=g).float()  # mostly ties


def _compare(fn, ref, x, kernel, padding, reduce_channels):
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = fn(a, kernel, padding, reduce_channels)
    theirs = ref(b, kernel, padding, reduce_channels)
    assert torch.equal(ours, theirs)
    g = torch.randn(theirs.shape, generator=torch.Generator().manual_seed(1))
    (ours * g).sum().backward()
    (theirs * g).sum().backward()
    assert torch.equal(a.grad, b.grad)
    return ours


@pytest.mark.parametrize('kind', ['float', 'uint8', 'ternary'])
@pytest.mark.parametrize('patch', [1, 2, 5, 8, 13, 40])
def test_dark_channel_form_equals_max_pool3d(kind, patch):
    """MaxPool3d((C, P, P), 1, (0, P // 2, P // 2)) as the dark-channel loss
    uses it: odd and even P (even: (H + 1) x (W + 1) output), P larger
    than the image, batch 2, random upstream gradients."""
    x = _data(kind, (2, 3, 17, 22))
    ours = _compare(max_filter, max_filter_reference, x, patch, patch // 2,
                    True)
    extra = 1 - patch % 2
    assert ours.shape == (2, 1, 17 + extra, 22 + extra)
    official = F.max_pool3d(x[:, None], (3, patch, patch), 1,
                            (0, patch // 2, patch // 2))
    assert torch.equal(ours, official[:, 0])


@pytest.mark.parametrize('kind', ['float', 'ternary'])
@pytest.mark.parametrize('kernel,padding', [((3, 4), (1, 2)), ((7, 1), (0, 0)),
                                            ((2, 9), (1, 3)),
                                            ((6, 6), (0, 0))])
@pytest.mark.parametrize('reduce_channels', [False, True])
def test_rectangular_windows_and_min(kind, kernel, padding, reduce_channels):
    x = _data(kind, (3, 2, 9, 11), seed=2)
    _compare(max_filter, max_filter_reference, x, kernel, padding,
             reduce_channels)
    _compare(min_filter, min_filter_reference, x, kernel, padding,
             reduce_channels)


def test_full_size_128_window_with_ties():
    """The official setting: P = 128 on a batch of 2 128 x 128 crops."""
    x = _data('uint8', (2, 3, 128, 128), seed=3)
    _compare(max_filter, max_filter_reference, x, 128, 64, True)


@pytest.mark.parametrize('layout', ['transposed', 'channels_last', 'slice'])
def test_non_contiguous_input(layout):
    x = _data('ternary', (2, 3, 24, 20), seed=4)
    if layout == 'transposed':
        x = x.transpose(2, 3)
    elif layout == 'channels_last':
        x = x.contiguous(memory_format=torch.channels_last)
    else:
        x = x[:, :, ::2, 1:]
    assert not x.is_contiguous()
    _compare(max_filter, max_filter_reference, x, 10, 5, True)
    _compare(min_filter, min_filter_reference, x, (5, 4), (2, 1), False)


def test_ties_go_to_the_first_channel_row_and_column():
    x = torch.zeros(1, 3, 4, 4, requires_grad=True)
    max_filter(x, 3, 0, reduce_channels=True).sum().backward()
    expected = torch.zeros(1, 3, 4, 4)
    expected[0, 0, :2, :2] = 1  # each window's top-left pixel, channel 0
    assert torch.equal(x.grad, expected)


def test_min_filter_is_the_dark_channel():
    x = _data('float', (1, 3, 6, 7), seed=5)
    dark = min_filter(x, 3, 1, reduce_channels=True)
    pad = F.pad(x.amin(1, keepdim=True), (1, 1, 1, 1), value=float('inf'))
    expected = pad.unfold(2, 3, 1).unfold(3, 3, 1).amin((-1, -2))
    assert torch.equal(dark, expected)


def test_no_grad_and_double_precision():
    x = _data('float', (1, 2, 8, 8)).double()
    with torch.no_grad():
        assert torch.equal(max_filter(x, 4, 2), max_filter_reference(x, 4, 2))
    _compare(max_filter, max_filter_reference, x, 4, 2, True)


def test_bad_arguments():
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        max_filter(x[0], 3)
    with pytest.raises(TypeError, match='floating point'):
        max_filter(torch.ones(1, 1, 4, 4, dtype=torch.long), 3)
    with pytest.raises(ValueError, match='kernel // 2'):
        max_filter(x, 3, 2)
    with pytest.raises(ValueError, match='smaller than the kernel'):
        max_filter(x, 9)
    with pytest.raises(TypeError, match='kernel_size'):
        max_filter(x, 2.5)
