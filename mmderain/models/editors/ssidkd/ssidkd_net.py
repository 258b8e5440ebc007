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
from .ssidkd_units import DenseUnits, _conv, _lrelu, _resize

#: The official network's smallest side (8x pool at scale 1/4).
MIN_SIZE = 32


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
