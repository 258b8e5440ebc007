# Copyright (c) mmderain contributors. All rights reserved.
"""SAGAN-style WGAN-GP critic of VRGNet.

Re-implementation of the critic ``D`` of *From Rain Generation to Rain
Removal* (Wang et al., CVPR 2021; official code: hongwang01/VRGNet, commit
``036d7a9``, files ``for_syn/sagan_discriminator.py``,
``sagan_discriminator_256.py`` and ``spectral.py``, themselves derived from
heykeetae/Self-Attention-GAN). VRGNet trains it as a WGAN-GP critic
(``lambda_gp = 10``) that tells real rainy patches ``O`` from generated ones
``mu_b + G(z)``.

Architecture for 64 px (``conv_dim = 64``)::

    l1  SN-Conv(3 -> 64, k4 s2 p1) + LeakyReLU(0.1)      32x32
    l2  SN-Conv(64 -> 128)  + LeakyReLU(0.1)             16x16
    l3  SN-Conv(128 -> 256) + LeakyReLU(0.1)              8x8
    attn1  self-attention(256), N = 64 positions
    l4  SN-Conv(256 -> 512) + LeakyReLU(0.1)              4x4
    attn2  self-attention(512), N = 16 positions
    last   Conv(512 -> 1, k4, with bias, no SN)           1x1 -> score

The 256-px variant (``conv_dim = 16``) inserts ``l31`` and ``l32`` (two more
SN-Conv + LeakyReLU levels) between ``l3`` and ``attn1``:
3 -> 16 -> 32 -> 64 -> 128 -> 256 (8x8), attention(256), ``l4`` 256 -> 512
(4x4), attention(512), ``last``.

The official attention widths are hard-coded to 256 and 512, so officially
only ``conv_dim = 64`` (64 px) and ``conv_dim = 16`` (256 px) build a working
network. At 64 px this module derives the widths from ``conv_dim`` (attention
at ``4 * conv_dim`` and ``8 * conv_dim``, ``l4`` ``4 * conv_dim -> 8 *
conv_dim``), which is the official network for ``conv_dim = 64`` and a
non-official, narrower critic otherwise (handy for fast tests). At 256 px
the official layout is kept as is and ``conv_dim`` must be 16.

Self-attention (:class:`SelfAttention`, official ``Self_Attn``): 1x1
query/key convolutions C -> C/8 and value C -> C (with biases),
``A = softmax_keys(q^T k)`` (N x N), ``y = gamma * (v A^T) + x`` with
``gamma`` initialised to 0.

Spectral norm (:class:`SpectralNorm`, official ``spectral.py``, *not*
``torch.nn.utils.spectral_norm``): the wrapped layer's ``weight`` is replaced
by three Parameters, ``weight_bar`` (trainable), ``weight_u`` (out) and
``weight_v`` (in * kh * kw), the last two with ``requires_grad=False`` (so
they are returned by ``parameters()`` and saved in the state dict). Every
forward, in train **and** eval mode, runs one power iteration without
gradient, ``v = l2n(W_bar^T u)``, ``u = l2n(W_bar v)`` with ``l2n(x) = x /
(||x|| + 1e-12)``, and uses ``W = W_bar / sigma``, ``sigma = u . (W_bar v)``,
with gradients flowing through ``sigma`` into ``W_bar``.

One deliberate difference: the official code writes the new ``u``/``v``
with ``param.data = ...``, which leaves the tensors saved by autograd
pointing at the *latest* vectors. If several forwards precede one backward
(the official critic step does three: real, fake and the gradient-penalty
interpolate), the official gradient through ``sigma`` of the earlier
forwards uses the ``u``/``v`` of the last forward. Here every forward keeps
its own ``u``/``v`` (as ``torch.nn.utils.spectral_norm`` does), which is the
exact gradient of what the forward computed. Outputs, ``u``/``v`` updates
and gradients of a single forward/backward are identical to the official
ones; once the power iteration has converged the difference vanishes.

Conventions:

* Input: **RGB** patches in **[0, 1]**, (B, 3, S, S) with ``S`` exactly
  ``image_size``. :meth:`SAGANCritic.forward` returns scores of shape (B,)
  (also for B = 1, unlike the official ``out.squeeze()``), optionally with
  the two attention maps (B, N1, N1) and (B, N2, N2).
* Official key names and order are kept, so an official ``D_state_*.pt``
  (a bare state dict, possibly prefixed ``module.`` by ``nn.DataParallel``)
  loads after :func:`convert_official_sagan_critic`. For 64 px::

    l4.0.module.bias         (512,)
    l4.0.module.weight_u     (512,)
    l4.0.module.weight_v     (4096,)
    l4.0.module.weight_bar   (512, 256, 4, 4)
    l1.0.module.{bias, weight_u, weight_v, weight_bar}   3 -> 64
    l2.0.module.*                                         64 -> 128
    l3.0.module.*                                         128 -> 256
    last.0.weight            (1, 512, 4, 4)
    last.0.bias              (1,)
    attn1.gamma              (1,)
    attn1.{query,key}_conv.{weight, bias}   (32, 256, 1, 1), (32,)
    attn1.value_conv.{weight, bias}         (256, 256, 1, 1), (256,)
    attn2.gamma              (1,)
    attn2.{query,key}_conv.{weight, bias}   (64, 512, 1, 1), (64,)
    attn2.value_conv.{weight, bias}         (512, 512, 1, 1), (512,)

  The 256-px critic adds ``l31.0.module.*`` and ``l32.0.module.*`` (after
  ``l3``). ``l4`` comes first because the official constructor creates it
  first.
* Parameters (including the non-trainable ``u``/``v``): 3,183,475 for
  64 px (3,175,299 trainable), 3,222,995 for 256 px. The official code
  keeps PyTorch's default initialisation for the critic (``weights_init`` is
  not applied to it); so does this module.
"""
from collections import OrderedDict
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmderain.registry import MODELS


def l2normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Return ``x / (||x||_2 + eps)`` (the official normalisation).

    Args:
        x (Tensor): A vector.
        eps (float): Added to the norm. Defaults to 1e-12.

    Returns:
        Tensor: The normalised vector.
    """
    return x / (x.norm() + eps)


class SpectralNorm(nn.Module):
    """Spectral normalisation wrapper with the official VRGNet semantics.

    The wrapped layer keeps its other parameters (``bias``) and gets
    ``weight_u``, ``weight_v`` (non-trainable Parameters) and ``weight_bar``
    (trainable) instead of ``weight``, so the wrapper's state-dict keys are
    ``module.bias``, ``module.weight_u``, ``module.weight_v`` and
    ``module.weight_bar``. See the module docstring for the maths.

    Args:
        module (nn.Conv2d | nn.Linear): Layer to normalise. Convolutions must
            use ``padding_mode='zeros'``.
        power_iterations (int): Power iterations per forward. Defaults to 1.
        eps (float): ``eps`` of :func:`l2normalize`. Defaults to 1e-12.

    Raises:
        TypeError: If ``module`` is not an ``nn.Conv2d`` or ``nn.Linear``.
        ValueError: For a non-zero padding mode or ``power_iterations < 1``.
    """

    def __init__(self,
                 module: Union[nn.Conv2d, nn.Linear],
                 power_iterations: int = 1,
                 eps: float = 1e-12) -> None:
        super().__init__()
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            raise TypeError('SpectralNorm supports nn.Conv2d and nn.Linear, '
                            f'got {type(module).__name__}')
        if isinstance(module, nn.Conv2d) and module.padding_mode != 'zeros':
            raise ValueError("SpectralNorm needs padding_mode='zeros', got "
                             f'{module.padding_mode!r}')
        if power_iterations < 1:
            raise ValueError(
                f'power_iterations must be >= 1, got {power_iterations}')
        self.power_iterations = power_iterations
        self.eps = eps
        weight = module.weight.detach()
        height = weight.shape[0]
        width = weight[0].numel()
        del module._parameters['weight']
        u = l2normalize(weight.new_empty(height).normal_(0, 1), eps)
        v = l2normalize(weight.new_empty(width).normal_(0, 1), eps)
        # Registration order gives the official key order (bias, u, v, bar).
        module.register_parameter('weight_u',
                                  nn.Parameter(u, requires_grad=False))
        module.register_parameter('weight_v',
                                  nn.Parameter(v, requires_grad=False))
        module.register_parameter('weight_bar', nn.Parameter(weight.clone()))
        self.module = module

    @torch.no_grad()
    def power_iteration(self, n: int = 1) -> Tuple[torch.Tensor, torch.Tensor]:
        """Run ``n`` power iterations and store the new ``u`` and ``v``.

        Args:
            n (int): Number of iterations. Defaults to 1.

        Returns:
            tuple[Tensor, Tensor]: New tensors equal to the updated ``u`` and
            ``v`` (not the stored Parameters, so later updates do not alter
            tensors that autograd saved).
        """
        w = self.module.weight_bar.detach()
        w = w.reshape(w.shape[0], -1)
        u = self.module.weight_u.detach()
        v = self.module.weight_v.detach()
        for _ in range(n):
            v = l2normalize(torch.mv(w.t(), u), self.eps)
            u = l2normalize(torch.mv(w, v), self.eps)
        self.module.weight_u.copy_(u)
        self.module.weight_v.copy_(v)
        return u, v

    def normalized_weight(self,
                          u: torch.Tensor = None,
                          v: torch.Tensor = None) -> torch.Tensor:
        """Return ``W_bar / sigma`` with ``sigma = u . (W_bar v)``.

        Differentiable with respect to ``weight_bar`` (through ``sigma``
        too). Does not run a power iteration.

        Args:
            u (Tensor, optional): Left vector; the stored ``weight_u`` if
                None.
            v (Tensor, optional): Right vector; the stored ``weight_v`` if
                None.

        Returns:
            Tensor: The effective weight, shaped like ``weight_bar``.
        """
        w_bar = self.module.weight_bar
        if u is None:
            u = self.module.weight_u.detach().clone()
        if v is None:
            v = self.module.weight_v.detach().clone()
        sigma = u.dot(w_bar.reshape(w_bar.shape[0], -1).mv(v))
        return w_bar / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Power-iterate (always, also in eval mode), then apply the layer.

        Args:
            x (Tensor): Input of the wrapped layer.

        Returns:
            Tensor: The layer's output with the normalised weight.
        """
        u, v = self.power_iteration(self.power_iterations)
        weight = self.normalized_weight(u, v)
        m = self.module
        if isinstance(m, nn.Linear):
            return F.linear(x, weight, m.bias)
        return F.conv2d(x, weight, m.bias, m.stride, m.padding, m.dilation,
                        m.groups)


class SelfAttention(nn.Module):
    """SAGAN self-attention block (official ``Self_Attn``).

    Args:
        in_channels (int): Feature channels ``C`` (must be >= 8).
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        if in_channels < 8:
            raise ValueError(f'in_channels must be >= 8, got {in_channels}')
        self.in_channels = in_channels
        self.query_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.key_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Apply attention over the ``N = H * W`` positions.

        Args:
            x (Tensor): Features (B, C, H, W).

        Returns:
            tuple[Tensor, Tensor]: ``gamma * attended + x`` (B, C, H, W) and
            the attention map (B, N, N), rows (queries) summing to 1.
        """
        b, c, h, w = x.shape
        query = self.query_conv(x).flatten(2).transpose(1, 2)  # B, N, C/8
        key = self.key_conv(x).flatten(2)  # B, C/8, N
        attention = torch.softmax(torch.bmm(query, key), dim=-1)  # B, N, N
        value = self.value_conv(x).flatten(2)  # B, C, N
        out = torch.bmm(value, attention.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + x, attention


def _sn_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """``SN-Conv(k4, s2, p1) + LeakyReLU(0.1)`` (keys ``0.module.*``)."""
    return nn.Sequential(
        SpectralNorm(nn.Conv2d(in_channels, out_channels, 4, 2, 1)),
        nn.LeakyReLU(0.1))


#: Official ``conv_dim`` for each supported image size (attention widths are
#: hard-coded to 256 and 512 in the official code).
SAGAN_CONV_DIMS = {64: 64, 256: 16}


@MODELS.register_module()
class SAGANCritic(nn.Module):
    """VRGNet's SAGAN-derived critic with self-attention and spectral norm.

    Args:
        image_size (int): Input patch size, 64 or 256. Defaults to 64.
        conv_dim (int): Width of the first convolution (official ``ndf``).
            64 px: official value 64; any value >= 2 works (the attention
            widths follow as ``4 * conv_dim`` and ``8 * conv_dim``). 256 px:
            must be 16 (official, widths hard-coded). Defaults to 64.

    Raises:
        ValueError: For an unsupported ``image_size`` or ``conv_dim``.
    """

    in_channels = 3

    def __init__(self, image_size: int = 64, conv_dim: int = 64) -> None:
        super().__init__()
        if image_size not in SAGAN_CONV_DIMS:
            raise ValueError('image_size must be 64 or 256 (the official '
                             'sagan_discriminator.py / _256.py variants), '
                             f'got {image_size!r}')
        if image_size == 256 and conv_dim != SAGAN_CONV_DIMS[256]:
            raise ValueError(
                'SAGANCritic(image_size=256) needs conv_dim=16: the official '
                'self-attention widths are hard-coded to 256 and 512 '
                f'channels, got conv_dim={conv_dim}')
        if conv_dim < 2:
            raise ValueError(f'conv_dim must be >= 2, got {conv_dim}')
        self.image_size = image_size
        self.conv_dim = conv_dim
        c = conv_dim
        width = 4 * c if image_size == 64 else 256  # first attention width
        # Layers are created in the official order (same random init for the
        # same seed) and registered in the official order (l4 first, then
        # l1, l2, l3, l31, l32), which fixes the state-dict key order.
        blocks = [('l1', _sn_block(self.in_channels, c)),
                  ('l2', _sn_block(c, 2 * c)), ('l3', _sn_block(2 * c, 4 * c))]
        if image_size == 256:
            blocks += [('l31', _sn_block(4 * c, 8 * c)),
                       ('l32', _sn_block(8 * c, 16 * c))]
        self.l4 = _sn_block(width, 2 * width)
        for name, block in blocks:
            setattr(self, name, block)
        self.extra_names = [name for name, _ in blocks[3:]]
        self.last = nn.Sequential(nn.Conv2d(2 * width, 1, 4))
        self.attn1 = SelfAttention(width)
        self.attn2 = SelfAttention(2 * width)

    def forward(
        self,
        x: torch.Tensor,
        return_attention: bool = False
    ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Score a batch of patches (higher = more "real").

        Every call advances the spectral-norm power iterations (also in eval
        mode and under ``torch.no_grad()``), as in the official code.

        Args:
            x (Tensor): Patches (B, 3, S, S), RGB in [0, 1], with
                ``S == image_size``.
            return_attention (bool): Also return the attention maps.
                Defaults to False.

        Returns:
            Tensor | tuple[Tensor, Tensor, Tensor]: Scores (B,); with
            ``return_attention`` also the maps of ``attn1`` (B, 64, 64) and
            ``attn2`` (B, 16, 16).

        Raises:
            ValueError: If ``x`` is not (B, 3, image_size, image_size).
        """
        s = self.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.in_channels, s, s):
            raise ValueError(
                f'SAGANCritic(image_size={s}) expects input of shape '
                f'(B, {self.in_channels}, {s}, {s}), got {tuple(x.shape)}')
        out = self.l3(self.l2(self.l1(x)))
        for name in self.extra_names:
            out = getattr(self, name)(out)
        out, attn1 = self.attn1(out)
        out, attn2 = self.attn2(self.l4(out))
        scores = self.last(out).reshape(x.shape[0])
        if return_attention:
            return scores, attn1, attn2
        return scores

    def spectral_norms(self) -> 'OrderedDict[str, SpectralNorm]':
        """Return the spectral-norm wrappers by layer name, in forward order.

        Returns:
            OrderedDict[str, SpectralNorm]: ``{'l1': ..., ..., 'l4': ...}``.
        """
        names = ['l1', 'l2', 'l3'] + self.extra_names + ['l4']
        return OrderedDict((n, getattr(self, n)[0]) for n in names)
