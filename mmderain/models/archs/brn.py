# Copyright (c) mmderain contributors. All rights reserved.
"""BRN: bilateral recurrent network.

Re-implementation of *Single Image Deraining Using Bilateral Recurrent
Network* (Ren, Shang, Zhu, Hu, Meng, Zuo, IEEE TIP 2020, official code:
csdwren/RecDerain, ``generator.py``, class ``BRN``).

Two coupled recurrent branches run for ``num_iters`` iterations, starting
from ``x = r = input`` and zero LSTM states; at every iteration:

* **rain branch**: ``f_r = relu(conv0_r(cat(input, r)))``; a convolutional
  LSTM on ``cat(f_r, h_r, h)`` (its own previous hidden state, then the
  *previous* hidden state of the image branch) updates ``(h_r, c_r)``;
  three residual blocks from ``h_r``; ``r = conv_r(.)``, the rain layer;
* **image branch**: ``f = relu(conv0(cat(input, x, r)))`` (with the rain
  layer just estimated); an LSTM on ``cat(f, h, h_r)`` (with the *new* rain
  hidden state) updates ``(h, c)``; five residual blocks from ``h``;
  ``x = conv(.)``, the background. There is no global skip connection: the
  background is predicted directly.

The LSTM gates are ``i, f, o = sigmoid(.)``, ``g = tanh(.)``,
``c' = f * c + i * g``, ``h' = o * tanh(c')`` (the layout of
:func:`~mmderain.ops.lstm_pointwise.lstm_pointwise`). A residual
block computes ``relu(relu(conv2(relu(conv1(x)))) + x)``.

The official ``BRN`` also creates ``res_conv4_r`` and ``res_conv5_r`` but
never applies them (its rain branch runs three blocks); they are left out
here, as in CoIC's ``BRN_CoIM`` (375,526 parameters for T=8, 32 channels;
:func:`convert_official_brn` drops them from official files).

Every convolution is built with :func:`~mmderain.models.layers.build_conv2d`
and named after the official unit, so ``conv_cfg=dict(type='CoIMConv2d',
code_dim=128)`` gives CoIC's modulated BRN (``BRN_CoIM``) with the same
forward. Inputs and outputs are RGB images in [0, 1], shape (N, 3, H, W),
any spatial size. The output is not clamped.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.models.layers import ConvLSTMCell, build_conv2d
from mmderain.models.layers.conv_lstm import GATE_NAMES
from mmderain.ops import conv2d_relu
from mmderain.registry import MODELS

#: Residual blocks of the image and of the rain branch (official forward).
NUM_RES_BLOCKS = 5
NUM_RAIN_RES_BLOCKS = 3
#: The four LSTM gate convolutions of a branch, in ``lstm_pointwise`` order.
GATES = GATE_NAMES
#: Our LSTM modules -> the suffix of their gates' checkpoint keys.
_LSTM_SUFFIX = {'lstm': '', 'lstm_r': '_r'}

_Tensors = Union[torch.Tensor, List[torch.Tensor]]


def _records_grad(x: torch.Tensor, module: nn.Module) -> bool:
    """Whether autograd records a graph through ``module`` applied to ``x``."""
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(p.requires_grad for p in module.parameters())


class BRNResBlock(nn.Module):
    """Two 3x3 conv + ReLU layers with an identity shortcut and a final ReLU.

    Computes ``relu(relu(conv2(relu(conv1(x)))) + x)`` (official
    ``res_convK``, an ``nn.Sequential`` applied as ``relu(res_convK(x) +
    x)``).

    Args:
        channels (int): Feature channels.
        conv_cfg (dict, optional): Convolution config for
            :func:`~mmderain.models.layers.build_conv2d`. Defaults to None
            (``nn.Conv2d``).
    """

    def __init__(self, channels: int, conv_cfg: Optional[dict] = None) -> None:
        super().__init__()
        self.conv1 = build_conv2d(
            conv_cfg, channels, channels, 3, stride=1, padding=1, bias=True)
        self.conv2 = build_conv2d(
            conv_cfg, channels, channels, 3, stride=1, padding=1, bias=True)

    def forward(self,
                x: torch.Tensor,
                fused: bool = False,
                nonneg_input: bool = False) -> torch.Tensor:
        """Apply the block to features (N, C, H, W).

        Args:
            x (Tensor): Input features (N, C, H, W).
            fused (bool): The caller checked that both convolutions are plain
                ``nn.Conv2d`` and that no autograd graph is recorded: ReLUs
                are then fused into the convolutions and the sum is computed
                in place. Defaults to False.
            nonneg_input (bool): ``x >= 0`` is guaranteed (a ReLU output);
                with ``fused`` the final ReLU is then skipped, which is
                exact. Defaults to False.

        Returns:
            Tensor: The block output (N, C, H, W).
        """
        if not fused:
            out = F.relu(self.conv2(F.relu(self.conv1(x))))
            return F.relu(out + x)
        out = conv2d_relu(
            conv2d_relu(x, self.conv1.weight, self.conv1.bias),
            self.conv2.weight, self.conv2.bias).add_(x)
        return out if nonneg_input else out.relu_()


def _gate_key_map(prefix: str, to_official: bool) -> Dict[str, str]:
    """Key prefixes of the gate convolutions: ours <-> checkpoint's."""
    pairs = {}
    for lstm, suffix in _LSTM_SUFFIX.items():
        for gate in GATES:
            ours = f'{prefix}{lstm}.{gate}.'
            theirs = f'{prefix}{gate}{suffix}.'
            if to_official:
                pairs[ours] = theirs
            else:
                pairs[theirs] = ours
    return pairs


def _rename_keys(state_dict: dict, pairs: Dict[str, str]) -> None:
    """Rename, in place and in order, the keys starting with a prefix."""
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        for old, new in pairs.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        state_dict[key] = value


def _save_official_gate_keys(module: nn.Module, state_dict: dict, prefix: str,
                             local_metadata: dict) -> None:
    """State-dict hook: save ``lstm[_r].conv_X.*`` as ``conv_X[_r].*``."""
    _rename_keys(state_dict, _gate_key_map(prefix, to_official=True))


def _load_official_gate_keys(module: nn.Module, state_dict: dict, prefix: str,
                             *args) -> None:
    """Load pre-hook: read ``conv_X[_r].*`` into ``lstm[_r].conv_X.*``."""
    module._load_prefix = prefix
    _rename_keys(state_dict, _gate_key_map(prefix, to_official=False))


def _report_official_gate_keys(module: nn.Module, incompatible) -> None:
    """Load post-hook: name missing gate keys as the checkpoint names them.
    """
    pairs = _gate_key_map(getattr(module, '_load_prefix', ''), True)
    keys = incompatible.missing_keys
    for n, key in enumerate(keys):
        for old, new in pairs.items():
            if key.startswith(old):
                keys[n] = new + key[len(old):]
                break


@MODELS.register_module()
class BRN(nn.Module):
    """Bilateral recurrent network (BRN) for single-image deraining.

    State-dict keys mirror the official units, each one convolution:
    ``conv0``/``conv0_r`` (input convolutions, 9 and 6 input channels),
    ``conv_{i,f,g,o}``/``conv_{i,f,g,o}_r`` (LSTM gates, ``3 * mid_channels``
    inputs each), ``res_conv{1..5}``/``res_conv{1..3}_r``
    (:class:`BRNResBlock`, ``conv1``/``conv2``) and ``conv``/``conv_r``
    (output convolutions, 3 channels).

    The LSTMs of the two branches are the shared
    :class:`~mmderain.models.layers.ConvLSTMCell` (modules ``lstm`` and
    ``lstm_r``, four gate convolutions each): the parameter
    ``lstm.conv_i.weight`` is saved and loaded under the official key
    ``conv_i.weight``, ``lstm_r.conv_i.weight`` under ``conv_i_r.weight``
    (state-dict hooks), so converted and trained checkpoints keep their
    keys.

    The dataflow is the official one (see the module docstring). With plain
    convolutions the forward pass is computed faster, with the same result
    up to float rounding: the four gate convolutions of a branch run as one
    convolution with the concatenated kernels, the zero initial states are
    not convolved, the point-wise LSTM update is
    :func:`~mmderain.ops.lstm_pointwise.lstm_pointwise`, and
    without autograd ReLUs are fused into the convolutions on CPU and
    features are kept channels-last. Other convolution types (e.g.
    ``CoIMConv2d``, which also look at the mean of their input, zero states
    included) are called one by one on the full inputs, exactly as
    officially.

    Args:
        num_iters (int): Recurrent iterations ``T``. Defaults to 8 (the
            official test and training scripts' ``--inter_iter``).
        mid_channels (int): Feature and LSTM state channels. Defaults to 32.
        conv_cfg (dict, optional): Config of every convolution, for
            :func:`~mmderain.models.layers.build_conv2d`; ``None`` (default)
            for ``nn.Conv2d``, ``dict(type='CoIMConv2d', code_dim=128)`` for
            CoIC's modulated BRN.
        channels_last (bool, optional): Compute in the channels-last memory
            format. ``None`` (default) uses it for inference (no autograd
            graph) with plain convolutions on float32/bfloat16 CPU inputs
            when oneDNN is available, where it is faster. Outputs are always
            contiguous.
    """

    def __init__(self,
                 num_iters: int = 8,
                 mid_channels: int = 32,
                 conv_cfg: Optional[dict] = None,
                 channels_last: Optional[bool] = None) -> None:
        super().__init__()
        if num_iters < 1:
            raise ValueError(f'num_iters must be >= 1, got {num_iters}')
        if mid_channels < 1:
            raise ValueError(f'mid_channels must be >= 1, got {mid_channels}')
        self.num_iters = num_iters
        self.mid_channels = mid_channels
        self.channels_last = channels_last
        c = mid_channels

        def conv(cin: int, cout: int) -> nn.Module:
            return build_conv2d(
                conv_cfg, cin, cout, 3, stride=1, padding=1, bias=True)

        # image (background) branch
        self.conv0 = conv(9, c)
        for k in range(1, NUM_RES_BLOCKS + 1):
            self.add_module(f'res_conv{k}', BRNResBlock(c, conv_cfg))
        # LSTM on cat(features, own hidden state, other branch's hidden)
        self.lstm = ConvLSTMCell(
            c, part_channels=(c, c, c), fused_gates=False, conv_cfg=conv_cfg)
        self.conv = conv(c, 3)
        # rain branch
        self.conv0_r = conv(6, c)
        for k in range(1, NUM_RAIN_RES_BLOCKS + 1):
            self.add_module(f'res_conv{k}_r', BRNResBlock(c, conv_cfg))
        self.lstm_r = ConvLSTMCell(
            c, part_channels=(c, c, c), fused_gates=False, conv_cfg=conv_cfg)
        self.conv_r = conv(c, 3)
        self._register_state_dict_hook(_save_official_gate_keys)
        self._register_load_state_dict_pre_hook(
            _load_official_gate_keys, with_module=True)
        self.register_load_state_dict_post_hook(_report_official_gate_keys)

    # ------------------------------------------------------------------ #
    # helpers
    # ------------------------------------------------------------------ #
    def _plain(self) -> bool:
        """Whether every convolution is exactly ``nn.Conv2d``."""
        return all(
            type(m) is nn.Conv2d for m in self.modules()
            if isinstance(m, nn.Conv2d))

    def _memory_format(self, x: torch.Tensor,
                       fused: bool) -> torch.memory_format:
        use = self.channels_last
        if use is None:
            use = (
                fused and x.device.type == 'cpu'
                and x.dtype in (torch.float32, torch.bfloat16)
                and torch.backends.mkldnn.is_available())
        return torch.channels_last if use else torch.contiguous_format

    def _conv_relu(self, conv: nn.Module, x: torch.Tensor,
                   fused: bool) -> torch.Tensor:
        if fused:
            return conv2d_relu(x, conv.weight, conv.bias)
        return F.relu(conv(x))

    def _refine(self, feat: torch.Tensor, names: Sequence[str],
                fused: bool) -> torch.Tensor:
        for k, name in enumerate(names):
            feat = getattr(self, name)(feat, fused=fused, nonneg_input=k > 0)
        return feat

    # ------------------------------------------------------------------ #
    # forward
    # ------------------------------------------------------------------ #
    def forward(self,
                x: torch.Tensor,
                return_stages: bool = False,
                return_rain: bool = False) -> Union[_Tensors, tuple]:
        """Derain a batch.

        Args:
            x (Tensor): Rainy images (N, 3, H, W), RGB in [0, 1].
            return_stages (bool): Return the estimates of every iteration
                (lists, last one last) instead of the last ones only.
                Defaults to False.
            return_rain (bool): Also return the rain layer estimated by the
                rain branch (the official forward returns
                ``(x, x_list, r, r_list)``). Defaults to False.

        Returns:
            Tensor | list[Tensor] | tuple: The background (N, 3, H, W) (a
            list of ``num_iters`` of them with ``return_stages``); with
            ``return_rain``, the pair ``(background, rain)`` of such
            values.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError('BRN expects RGB images (N, 3, H, W), got '
                             f'{tuple(x.shape)}')
        track = _records_grad(x, self)
        fused = self._plain() and not track
        x = x.contiguous(memory_format=self._memory_format(x, fused))
        inp = x
        img, rain = x, x
        h = c = h_r = c_r = None  # zero states
        imgs, rains = [], []
        img_blocks = [f'res_conv{k}' for k in range(1, NUM_RES_BLOCKS + 1)]
        rain_blocks = [
            f'res_conv{k}_r' for k in range(1, NUM_RAIN_RES_BLOCKS + 1)
        ]
        for _ in range(self.num_iters):
            # rain branch: input, previous rain; LSTM on (f_r, h_r, h)
            feat = self._conv_relu(self.conv0_r, torch.cat((inp, rain), 1),
                                   fused)
            h_r, c_r = self.lstm_r((feat, h_r, h), c_r)
            feat = self._refine(h_r, rain_blocks, fused)
            rain = self.conv_r(feat)
            # image branch: input, previous background, new rain;
            # LSTM on (f, h, new h_r)
            feat = self._conv_relu(self.conv0, torch.cat((inp, img, rain), 1),
                                   fused)
            h, c = self.lstm((feat, h, h_r), c)
            feat = self._refine(h, img_blocks, fused)
            img = self.conv(feat)
            imgs.append(img)
            rains.append(rain)
        imgs = [t.contiguous() for t in imgs]
        rains = [t.contiguous() for t in rains]
        out = imgs if return_stages else imgs[-1]
        if not return_rain:
            return out
        return out, (rains if return_stages else rains[-1])
