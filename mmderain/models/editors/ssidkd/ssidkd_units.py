# Copyright (c) mmderain contributors. All rights reserved.
"""The unit of SSID-KD's network and its densely connected blocks: the
inner-scale block (official ``ISCB``), the multi-scale fusion block
(``MSFB``), the unit (``UnitBlock``) and :class:`DenseUnits`
(``DenseConnection``, one shared unit). See :mod:`.ssidkd_net` for the
network, the weight tying and the speed-ups."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

_SLOPE = 0.2


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, _SLOPE, inplace=True)


def _fused_layers(fuse: Union[bool, Sequence[int]]) -> Tuple[int, ...]:
    if isinstance(fuse, bool):
        return (1, 2) if fuse else ()
    layers = tuple(int(k) for k in fuse)
    if not set(layers) <= {1, 2}:
        raise ValueError(f'fuse_msfb: layers must be 1 or 2, got {fuse}')
    return layers


def _conv(cin: int, cout: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, 1, k // 2)


def _resize(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear, ``align_corners=False``, no antialiasing (official)."""
    return F.interpolate(x, size=tuple(size), mode='bilinear')


def _nearest(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Nearest resize (the official ``F.upsample`` default)."""
    return F.interpolate(x, size=tuple(size), mode='nearest')


class InnerScaleBlock(nn.Module):
    """Inner-scale connection block (official ``ISCB``).

    ``p2, p4, p8`` = max-pools of ``x`` by 2, 4, 8; coarse to fine, each
    scale runs four [3x3 conv + LeakyReLU] (``branch8`` ... ``branch1``)
    on its pool merged (1x1 conv + LeakyReLU on the concatenation,
    ``merge84``, ``merge42``, ``merge21``) with the nearest-upsampled
    result of the coarser scale; the four results, upsampled to full size,
    are fused by a 1x1 conv + LeakyReLU (``merge_all``) and added to ``x``.

    Args:
        channels (int): Feature channels.
        num_convs (int): Convolutions per scale. Defaults to 4.
    """

    def __init__(self, channels: int, num_convs: int = 4) -> None:
        super().__init__()
        for s in (1, 2, 4, 8):
            setattr(
                self, f'branch{s}',
                nn.ModuleList(
                    _conv(channels, channels, 3) for _ in range(num_convs)))
        self.merge84 = _conv(2 * channels, channels, 1)
        self.merge42 = _conv(2 * channels, channels, 1)
        self.merge21 = _conv(2 * channels, channels, 1)
        self.merge_all = _conv(4 * channels, channels, 1)

    @staticmethod
    def _convs(convs: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        for conv in convs:
            x = _lrelu(conv(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p2 = F.max_pool2d(x, 2)
        p4 = F.max_pool2d(p2, 2)  # = max_pool2d(x, 4) (floor mode)
        p8 = F.max_pool2d(p4, 2)  # = max_pool2d(x, 8)
        s8 = self._convs(self.branch8, p8)
        s4 = self._convs(self.branch4,
                         _lrelu(_merge_1x1(self.merge84, p4, [s8])))
        s2 = self._convs(self.branch2,
                         _lrelu(_merge_1x1(self.merge42, p2, [s4])))
        s1 = self._convs(self.branch1,
                         _lrelu(_merge_1x1(self.merge21, x, [s2])))
        return _lrelu(_merge_1x1(self.merge_all, s1, [s2, s4, s8])) + x


def _merge_1x1(conv: nn.Conv2d, x: torch.Tensor,
               coarse: Sequence[torch.Tensor]) -> torch.Tensor:
    """``conv(cat([x] + [nearest(c, x's size) for c in coarse]))`` for a
    1x1 ``conv``, without the upsampled copies and the concatenation.

    A 1x1 convolution is per pixel, so it commutes with nearest
    upsampling: each coarse map is convolved by its slice of the kernel
    at its own size, upsampled, and added (exact up to the order of the
    sums; fewer multiply-adds and no full-size concatenation).
    """
    c = x.shape[1]
    w = conv.weight
    out = F.conv2d(x, w[:, :c], conv.bias)
    size = x.shape[-2:]
    for k, part in enumerate(coarse, 1):
        out = out + _nearest(F.conv2d(part, w[:, k * c:(k + 1) * c]), size)
    return out


class MultiScaleFusionBlock(nn.Module):
    """Multi-scale fusion block (official ``MSFB``).

    ``u = [lrelu(conv3_1(x)), lrelu(conv5_1(x))]``,
    ``v = [lrelu(conv3_2(u)), lrelu(conv5_2(u))]``, output
    ``fuse(v) + x`` (1x1, no activation).

    Args:
        channels (int): Feature channels ``C`` (``u`` has ``2C``, ``v``
            ``4C``).
        fuse (bool | Sequence[int]): Which parallel 3x3/5x5 pairs (layer
            1: ``conv{3,5}_1``, layer 2: ``conv{3,5}_2``) run as one 5x5
            convolution whose first output channels use the 3x3 kernels
            zero-padded to 5x5 (exact; the parameters keep the official
            layout). True: both, False: none. Defaults to False (slower
            on CPU, see the module docstring).
    """

    def __init__(self,
                 channels: int,
                 fuse: Union[bool, Sequence[int]] = False) -> None:
        super().__init__()
        self.fuse_layers = _fused_layers(fuse)
        self.conv3_1 = _conv(channels, channels, 3)
        self.conv5_1 = _conv(channels, channels, 5)
        self.conv3_2 = _conv(2 * channels, 2 * channels, 3)
        self.conv5_2 = _conv(2 * channels, 2 * channels, 5)
        self.fuse = _conv(4 * channels, channels, 1)
        self._cache = {}

    def fused_weights(self, layer: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The 5x5 kernel and bias running ``conv3_<layer>`` and
        ``conv5_<layer>`` at once (3x3 outputs first).

        Built anew (differentiably) while autograd records; otherwise
        cached until any of the four tensors changes (in-place updates,
        ``load_state_dict``, ``.to()``).
        """
        c3 = getattr(self, f'conv3_{layer}')
        c5 = getattr(self, f'conv5_{layer}')
        tensors = (c3.weight, c3.bias, c5.weight, c5.bias)
        record = torch.is_grad_enabled() and any(t.requires_grad
                                                 for t in tensors)
        key = tuple(
            (t.data_ptr(), t._version, t.dtype, t.device) for t in tensors)
        if not record:
            hit = self._cache.get(layer)
            if hit is not None and hit[0] == key:
                return hit[1], hit[2]
        weight = torch.cat([F.pad(c3.weight, (1, 1, 1, 1)), c5.weight], 0)
        bias = torch.cat([c3.bias, c5.bias], 0)
        if not record:
            self._cache[layer] = (key, weight, bias)
        return weight, bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self._pair(1, x)
        if 2 in self.fuse_layers:
            return self.fuse(self._pair(2, u)) + x
        # the 1x1 fusion of cat(c, d) as the sum of its two halves: no
        # concatenation of the 4C-channel map
        c2 = u.shape[1]
        w = self.fuse.weight
        c = _lrelu(self.conv3_2(u))
        out = F.conv2d(c, w[:, :c2], self.fuse.bias)
        d = _lrelu(self.conv5_2(u))
        return out.add_(F.conv2d(d, w[:, c2:])).add_(x)

    def _pair(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        if layer in self.fuse_layers:
            w, b = self.fused_weights(layer)
            return _lrelu(F.conv2d(x, w, b, padding=2))
        c3 = getattr(self, f'conv3_{layer}')
        c5 = getattr(self, f'conv5_{layer}')
        return torch.cat([_lrelu(c3(x)), _lrelu(c5(x))], 1)

    def _apply(self, fn, *args, **kwargs):
        self._cache = {}
        return super()._apply(fn, *args, **kwargs)


class SSIDKDUnit(nn.Module):
    """One unit: :class:`InnerScaleBlock` then :class:`MultiScaleFusionBlock`
    (official ``UnitBlock``).

    Args:
        channels (int): Feature channels.
        fuse_msfb (bool | Sequence[int]): See
            :class:`MultiScaleFusionBlock`.
    """

    def __init__(self,
                 channels: int,
                 fuse_msfb: Union[bool, Sequence[int]] = False) -> None:
        super().__init__()
        self.iscb = InnerScaleBlock(channels)
        self.msfb = MultiScaleFusionBlock(channels, fuse_msfb)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.msfb(self.iscb(x))


class DenseUnits(nn.Module):
    """``num_units`` applications of ONE shared unit, densely connected
    (official ``DenseConnection``).

    With ``stack = [x]`` and ``out = x``, for ``i`` in ``0 .. n-1``:
    ``t = unit(out + inject_i)`` (``inject_i`` = unit output ``i`` of the
    matching block of the previous encoder-decoder, or nothing),
    ``stack += [t]``, ``out = lrelu(fusions[i](cat(stack)))``.

    Args:
        channels (int): Feature channels ``C``.
        num_units (int): ``n``; the unit's weights are shared by the ``n``
            steps, the 1x1 fusions (``(i + 2)C -> C``) are not.
        fuse_msfb (bool | Sequence[int]): See
            :class:`MultiScaleFusionBlock`.
    """

    def __init__(self,
                 channels: int,
                 num_units: int,
                 fuse_msfb: Union[bool, Sequence[int]] = False) -> None:
        super().__init__()
        self.channels = channels
        self.num_units = num_units
        self.unit = SSIDKDUnit(channels, fuse_msfb)
        self.fusions = nn.ModuleList(
            _conv((i + 2) * channels, channels, 1) for i in range(num_units))

    def forward(
            self,
            x: torch.Tensor,
            inject: Optional[torch.Tensor] = None,
            need_out: bool = True
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Run the block.

        Args:
            x (Tensor): B x C x H x W.
            inject (Tensor, optional): The ``stack`` of the matching block
                (B x (n+1)C x H x W); its unit outputs are added to the
                inputs of ours.
            need_out (bool): Compute ``out``; the official discards it for
                several encoders (only their unit outputs are used), then
                the last 1x1 fusion is skipped. Defaults to True.

        Returns:
            tuple[Tensor, Tensor | None]: ``stack`` = ``cat(x, t_1 .. t_n)``
            (B x (n+1)C x H x W, the official ``cat`` list concatenated)
            and ``out`` (B x C x H x W; None unless ``need_out``).
        """
        c, n = self.channels, self.num_units
        buffered = not (torch.is_grad_enabled() and
                        (x.requires_grad or any(p.requires_grad
                                                for p in self.parameters())))
        # channel slices of a channels_last buffer are not dense: cat there
        buffered = buffered and x.is_contiguous()
        if buffered:
            # No autograd: one buffer, written slice by slice.
            stack = x.new_empty((x.shape[0], (n + 1) * c) + tuple(x.shape[2:]))
            stack[:, :c] = x
            parts = None
        else:
            parts = [x]
        out = x
        for i in range(n):
            if inject is not None:
                out = out + inject[:, (i + 1) * c:(i + 2) * c]
            t = self.unit(out)
            if buffered:
                stack[:, (i + 1) * c:(i + 2) * c] = t
                cat = stack[:, :(i + 2) * c]
            else:
                parts.append(t)
                cat = torch.cat(parts, 1)
            if i < n - 1 or need_out:
                out = _lrelu(self.fusions[i](cat))
            else:
                out = None
        return (stack if buffered else cat), out
