# Copyright (c) mmderain contributors. All rights reserved.
"""SSID-KD backbone: a three-scale pyramid of densely connected
encoder-decoders.

Re-implementation of the network of *Semi-Supervised Image Deraining using
Knowledge Distillation* (Cui, Wang, Ren, Chen, Zhu; IEEE TCSVT), official
code cuiyixin555/SSID-KD, commit ``57ac0fc``, class ``ODE_DerainNet`` in
``model.py``. The teacher (SID) and the student (SSID-KD) are the same
network; only the training differs.

Parts (official names in brackets; all activations LeakyReLU(0.2), all
convolutions with bias):

* ``head`` (``Head``): one 3x3 convolution per scale on the image, its
  bilinear ``(H//2, W//2)`` and ``(H//4, W//4)`` resizes, giving ``C1``,
  ``C2``, ``C4`` channels (24, 32, 48).
* ``ed4``, ``ed2``, ``ed1`` (``Encoder_Decoder_4/2/1``): encoder-decoders
  starting at scales 1/4, 1/2 and 1, made of :class:`DenseUnits`
  (``DenseConnection``). Each dense block of ``ed2`` and ``ed1`` whose
  scale was visited before adds, to the input of its unit ``i``, the
  output of unit ``i`` of the matching block of the previous
  encoder-decoder (the cross-scale injections). Between scales, the unit
  outputs of a block are resized bilinearly, concatenated and merged by a
  3x3 convolution. ``ed1``'s 1/4-scale block gives the ``code`` (its last
  unit output, the official ``code = en4_cat[-1]``) that SSID-KD's KL term
  compares between synthetic and real inputs.
* ``tail`` (``Tail``): a 3x3 convolution (+ LeakyReLU) on the three
  outputs upsampled to full size: the rain layer ``S``. The derained image
  is ``x - S``.

A unit (``UnitBlock``) is an :class:`InnerScaleBlock` (``ISCB``: a max-pool
pyramid 8/4/2 with four 3x3 convolutions per scale, fused coarse to fine
with nearest upsampling) followed by a :class:`MultiScaleFusionBlock`
(``MSFB``: parallel 3x3 and 5x5 convolutions, twice, a 1x1 fusion and a
residual).

**Weight tying.** The official ``DenseConnection`` appends the *same*
``UnitBlock`` object ``n`` times, so its ``n`` units share their weights
(a recursive block) while the ``n`` 1x1 fusions after them are distinct.
:class:`DenseUnits` holds one ``unit``; the official state dict saves it
once per alias (``units.0`` ... ``units.<n-1>``), which
:func:`~mmderain.models.converters.convert_official_ssidkd` collapses.
Untied, the network would have about 14M parameters instead of
4,433,779.

**Channel order.** The official teacher is trained and evaluated on BGR
images (``cv2.imread``), the student on RGB synthetic and BGR real images;
mmderain feeds RGB in [0, 1]. Official weights used as is therefore see the
channels swapped unless the pipeline flips them.

**Sizes.** The official network needs ``H, W >= 32`` (the 8x max-pool at
scale 1/4) and works without padding for any such size, odd ones included
(``H//2``, ``H//4`` resizes); so does this one, with identical results.
Smaller inputs are padded at the bottom/right up to 32 (reflect, or
replicate where reflect is impossible), and ``derain``/``rain`` are cropped
back; ``code`` is then the 1/4-scale code of the padded image.

**Speed** (exact up to float rounding, weights unchanged):

* ``fuse_msfb`` (off by default): each pair of parallel 3x3/5x5
  convolutions of the MSFB runs as one 5x5 convolution with the 3x3
  kernels zero-padded; the fused kernels are built from the stored ones at
  every call while gradients are recorded, and cached (per tensor version)
  otherwise. The fused 5x5 costs more multiply-adds than the pair (16 of
  its 25 taps are zeros for half the outputs) in exchange for one wider
  convolution instead of two thin ones; on CPU (2 threads, 320x480,
  oneDNN) that loses: 9.49 s per image fused, 8.17 s with the first layer
  only, 7.85 s unfused. Where kernel launches dominate (GPUs) it may pay:
  ``benchmarks/bench_ssidkd.py --fuse-msfb both`` measures it.
* the 1x1 merges of the ISCB (``merge84``, ``merge42``, ``merge21``,
  ``merge_all``) convolve each coarse map with its slice of the kernel at
  its own size and add the nearest-upsampled result (a 1x1 convolution
  commutes with nearest upsampling), and the MSFB's 1x1 fusion is the sum
  of its two halves: no full-size concatenations, fewer multiply-adds.
* ``channels_last`` (default on CPU): oneDNN's convolutions on these thin
  (24-48 channel) maps are markedly faster in it.
* the resizes between scales run once on the concatenated unit outputs
  instead of once per unit (bilinear is per channel: identical), and the
  official's discarded resize and the 1x1 fusions whose output the
  official discards are skipped.
* without autograd and in NCHW, the dense concatenations are written into
  one preallocated buffer per block instead of being concatenated again for
  every 1x1 fusion (with autograd, or channels_last, ``torch.cat`` as in
  the official).
* the ISCB's pools are computed hierarchically (``pool8 = pool2(pool4)``,
  ``pool4 = pool2(pool2)``), which is exact for floor-mode max pools.

``benchmarks/bench_ssidkd.py`` times this against the official dataflow.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS

_SLOPE = 0.2
#: The official network's smallest side (8x pool at scale 1/4).
MIN_SIZE = 32


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


class _EncoderDecoder(nn.Module):
    """Common helpers of the three encoder-decoders."""

    @staticmethod
    def _units(stack: torch.Tensor, channels: int) -> torch.Tensor:
        """The unit outputs of a ``stack`` (all but its input)."""
        return stack[:, channels:]

    @staticmethod
    def _merge(conv: nn.Conv2d, units: torch.Tensor,
               size: Sequence[int]) -> torch.Tensor:
        """Resize the unit outputs (bilinear, per channel, so one call for
        all of them), then 3x3 conv + LeakyReLU."""
        return _lrelu(conv(_resize(units, size)))


class EncoderDecoder4(_EncoderDecoder):
    """Scale 1/4 only (official ``Encoder_Decoder_4``).

    Args:
        channels (Sequence[int]): ``(C1, C2, C4)``.
        num_units (Sequence[int]): ``(n1, n2, n4)``.
        fuse_msfb (bool | Sequence[int]): See
            :class:`MultiScaleFusionBlock`.
    """

    def __init__(self, channels: Sequence[int], num_units: Sequence[int],
                 fuse_msfb: Union[bool, Sequence[int]]) -> None:
        super().__init__()
        self.enc4 = DenseUnits(channels[2], num_units[2], fuse_msfb)

    def forward(self, fea4: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(fea4 + out, stack)``."""
        stack, out = self.enc4(fea4)
        return fea4 + out, stack


class EncoderDecoder2(_EncoderDecoder):
    """Scales 1/2 -> 1/4 -> 1/2 (official ``Encoder_Decoder_2``).

    Args:
        channels (Sequence[int]): ``(C1, C2, C4)``.
        num_units (Sequence[int]): ``(n1, n2, n4)``.
        fuse_msfb (bool | Sequence[int]): See
            :class:`MultiScaleFusionBlock`.
    """

    def __init__(self, channels: Sequence[int], num_units: Sequence[int],
                 fuse_msfb: Union[bool, Sequence[int]]) -> None:
        super().__init__()
        _, c2, c4 = channels
        _, n2, n4 = num_units
        self.enc2 = DenseUnits(c2, n2, fuse_msfb)
        self.enc4 = DenseUnits(c4, n4, fuse_msfb)
        self.dec2 = DenseUnits(c2, n2, fuse_msfb)
        self.merge_2to4 = _conv(c2 * n2, c4, 3)
        self.merge_4to2 = _conv(c4 * n4, c2, 3)

    def forward(
        self, fea2: torch.Tensor, ed4_stack: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(fea2 + out, enc2 stack, dec2 stack, enc4 stack)``."""
        h, w = fea2.shape[-2:]
        c2, c4 = self.enc2.channels, self.enc4.channels
        en2, _ = self.enc2(fea2, need_out=False)
        x = self._merge(self.merge_2to4, self._units(en2, c2),
                        (h // 2, w // 2))
        en4, _ = self.enc4(x, ed4_stack, need_out=False)
        x = self._merge(self.merge_4to2, self._units(en4, c4), (h, w))
        de2, out = self.dec2(x, en2)
        return fea2 + out, en2, de2, en4


class EncoderDecoder1(_EncoderDecoder):
    """Scales 1 -> 1/2 -> 1/4 -> 1/2 -> 1 (official ``Encoder_Decoder_1``).

    The 1/2-scale decoder's output plus its input replaces its last unit
    output in the upsampled concatenation (as in the official code).

    Args:
        channels (Sequence[int]): ``(C1, C2, C4)``.
        num_units (Sequence[int]): ``(n1, n2, n4)``.
        fuse_msfb (bool | Sequence[int]): See
            :class:`MultiScaleFusionBlock`.
    """

    def __init__(self, channels: Sequence[int], num_units: Sequence[int],
                 fuse_msfb: Union[bool, Sequence[int]]) -> None:
        super().__init__()
        c1, c2, c4 = channels
        n1, n2, n4 = num_units
        self.enc1 = DenseUnits(c1, n1, fuse_msfb)
        self.enc2 = DenseUnits(c2, n2, fuse_msfb)
        self.enc4 = DenseUnits(c4, n4, fuse_msfb)
        self.dec2 = DenseUnits(c2, n2, fuse_msfb)
        self.dec1 = DenseUnits(c1, n1, fuse_msfb)
        self.merge_1to2 = _conv(c1 * n1, c2, 3)
        self.merge_2to4 = _conv(c2 * n2, c4, 3)
        self.merge_4to2 = _conv(c4 * n4, c2, 3)
        self.merge_2to1 = _conv(c2 * n2, c1, 3)

    def forward(self, fea1: torch.Tensor, ed2_en2: torch.Tensor,
                ed2_de2: torch.Tensor,
                ed2_en4: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(fea1 + out, code)``."""
        h, w = fea1.shape[-2:]
        c1, c2, c4 = (self.enc1.channels, self.enc2.channels,
                      self.enc4.channels)
        en1, _ = self.enc1(fea1, need_out=False)
        en2_in = self._merge(self.merge_1to2, self._units(en1, c1),
                             (h // 2, w // 2))
        en2, _ = self.enc2(en2_in, ed2_en2, need_out=False)
        x = self._merge(self.merge_2to4, self._units(en2, c2),
                        (h // 4, w // 4))
        en4, _ = self.enc4(x, ed2_en4, need_out=False)
        code = en4[:, -c4:]
        x = self._merge(self.merge_4to2, self._units(en4, c4),
                        (h // 2, w // 2))
        de2, out = self.dec2(x, ed2_de2)
        last = out + en2_in
        if (torch.is_grad_enabled() and de2.requires_grad
                or not de2.is_contiguous()):
            ups = torch.cat([de2[:, c2:-c2], last], 1)
        else:
            # no autograd: the last unit output is not needed any more
            de2[:, -c2:] = last
            ups = de2[:, c2:]
        x = self._merge(self.merge_2to1, ups, (h, w))
        _, out = self.dec1(x, en1)
        return fea1 + out, code.contiguous()


@MODELS.register_module()
class SSIDKDNet(nn.Module):
    """SSID-KD's deraining network (official ``ODE_DerainNet``).

    See the module docstring for the parts, the weight tying, the channel
    order and the sizes. Official checkpoints (``net_latest``) are
    converted with ``tools/convert/ssidkd.py``.

    Args:
        channels (Sequence[int]): Feature channels at scales 1, 1/2, 1/4.
            Defaults to the official ``(24, 32, 48)``.
        num_units (Sequence[int]): Units (steps of the shared unit) per
            dense block at scales 1, 1/2, 1/4. Defaults to the official
            ``(10, 4, 2)``.
        fuse_msfb (bool | Sequence[int]): Run the MSFBs' parallel 3x3/5x5
            convolutions as one 5x5 convolution (exact, same weights):
            True for both layers, False for none, or the layers (1, 2).
            Defaults to False (slower on CPU; see the module docstring).
        channels_last (bool, optional): Run the features in the
            channels_last memory format (the outputs are returned
            contiguous); None: on CPU only, where oneDNN's convolutions
            on these thin feature maps are faster in it. Exact up to float
            rounding. Defaults to None.
    """

    def __init__(self,
                 channels: Sequence[int] = (24, 32, 48),
                 num_units: Sequence[int] = (10, 4, 2),
                 fuse_msfb: Union[bool, Sequence[int]] = False,
                 channels_last: Optional[bool] = None) -> None:
        super().__init__()
        channels, num_units = tuple(channels), tuple(num_units)
        if len(channels) != 3 or len(num_units) != 3 or min(channels +
                                                            num_units) < 1:
            raise ValueError('channels and num_units must hold 3 positive '
                             f'ints each, got {channels} and {num_units}')
        self.channels, self.num_units = channels, num_units
        self.channels_last = channels_last
        self.head = nn.ModuleList(_conv(3, c, 3) for c in channels)
        self.ed4 = EncoderDecoder4(channels, num_units, fuse_msfb)
        self.ed2 = EncoderDecoder2(channels, num_units, fuse_msfb)
        self.ed1 = EncoderDecoder1(channels, num_units, fuse_msfb)
        self.tail = _conv(sum(channels), 3, 3)

    def forward(
            self, x: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Derain ``x``.

        Args:
            x (Tensor): B x 3 x H x W images in [0, 1].

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``derain`` (= ``x - rain``) and
            ``rain`` (B x 3 x H x W), and ``code`` (B x C4 x H'//4 x
            W'//4, with ``H' = max(H, 32)``, ``W' = max(W, 32)``).
        """
        h, w = x.shape[-2:]
        img = _pad_to_min(x)
        hp, wp = img.shape[-2:]
        last = self.channels_last
        if last is None:
            last = x.device.type == 'cpu'
        if last:
            img = img.contiguous(memory_format=torch.channels_last)
        imgs = (img, _resize(img, (hp // 2, wp // 2)),
                _resize(img, (hp // 4, wp // 4)))
        fea1, fea2, fea4 = (_lrelu(conv(i))
                            for conv, i in zip(self.head, imgs))
        de4, ed4_stack = self.ed4(fea4)
        de2, en2, dec2, en4 = self.ed2(fea2, ed4_stack)
        de1, code = self.ed1(fea1, en2, dec2, en4)
        merged = torch.cat(
            [de1, _resize(de2, (hp, wp)),
             _resize(de4, (hp, wp))], 1)
        rain = _lrelu(self.tail(merged))
        if (hp, wp) != (h, w):
            rain = rain[..., :h, :w]
        rain = rain.contiguous()
        return x - rain, rain, code.contiguous()


def _pad_to_min(x: torch.Tensor) -> torch.Tensor:
    """Pad the bottom/right of ``x`` to at least 32 x 32 (reflect, else
    replicate)."""
    h, w = x.shape[-2:]
    ph, pw = max(MIN_SIZE - h, 0), max(MIN_SIZE - w, 0)
    if not (ph or pw):
        return x
    mode = 'reflect' if ph < h and pw < w else 'replicate'
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def ssidkd_parameter_counts(net: SSIDKDNet) -> List[Tuple[str, int]]:
    """Unique parameters of each part: head, ed1, ed2, ed4, tail."""
    return [(name, sum(p.numel() for p in getattr(net, name).parameters()))
            for name in ('head', 'ed1', 'ed2', 'ed4', 'tail')]
