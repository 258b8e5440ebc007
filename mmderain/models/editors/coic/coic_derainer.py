# Copyright (c) mmderain contributors. All rights reserved.
"""CoIC training logic: contrastive rain-/detail-aware codes that modulate a
derainer per instance (Ran et al., *Harnessing Joint Rain-/Detail-aware
Representations to Eliminate Intricate Rains*, ICLR 2024).
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict

from mmderain.models.base_models import MultiOptimDerainer
from mmderain.registry import MODELS
from .coic_contrastive_loss import detail_negatives, hardest_rain_negative
from .coim_conv import CoIMConv2d, modulation_code

#: Stand-in code meaning "no modulation" (warm-up steps).
_PLAIN = torch.empty(0)


@MODELS.register_module()
class CoICDerainer(MultiOptimDerainer):
    """A derainer modulated per instance by a contrastive code (CoIC).

    The backbone (``generator``) is any network whose convolutions are
    :class:`~mmderain.models.layers.CoIMConv2d` (e.g. ``BRN`` with
    ``conv_cfg=dict(type='CoIMConv2d', code_dim=128)``): without a code it
    is the plain network; with a code ``z`` (B, 128), every k x k kernel is
    reweighted per sample from ``z`` and the layer's mean input.

    Training (official ``train_*.py``), at iteration ``t`` (0-based):

    * ``t <= stage1_iters`` (warm-up): ``L = pixel_loss(G(x), y)``, plain
      backbone, the encoder is not run;
    * afterwards: the encoder (``encoder``, a
      :class:`~mmderain.models.archs.MomentumEncoder`) maps the whole
      rainy image resized to the crop size (``img_ctx``, the query) to
      ``z``; its key encoder embeds the positive (the query flipped, one
      random H/V flip per batch) and the negatives: the clean crop plus the
      *most different* rain layer of the bank (the current batch, or the
      last ``rain_bank_batches`` batches) and ``num_detail_negatives``
      blurred, flipped copies of the resized clean image (``gt_ctx``).
      ``L = pixel_loss(G(x; z), y) + contrastive_loss``.

    One backward pass feeds both optimisers, which step every iteration.
    At test time ``z`` comes from the key encoder (eval mode) on the whole
    input resized to ``test_cfg['context_size']`` (official: 128, bilinear
    with antialiasing, like torchvision's ``Resize`` on tensors); tiled
    inference (:func:`~mmderain.apis.derain_tensor_tiled`) computes one
    code from the whole image for all tiles, as the official test does.

    Args:
        generator (dict): Backbone config with CoIMConv2d layers.
        encoder (dict): Config of the momentum encoder.
        pixel_loss (dict | list[dict]): Restoration loss(es) (BRN:
            ``SSIMLoss``, i.e. ``-SSIM``).
        contrastive_loss (dict): Config of the contrastive loss on the
            encoder's logits (weight 0.2 officially).
        train_cfg (dict, optional): ``stage1_iters`` (int, warm-up length,
            default 40,000), ``num_detail_negatives`` (default 4),
            ``rain_bank_batches`` (default 1: the current batch, as for BRN
            and IDT; 64 // batch size for RCDNet, DGUNet, DRSformer),
            ``per_sample_negatives`` (default False: one random draw per
            batch for the flips and the blur, so the detail negatives of a
            sample are identical copies, as coded officially; True draws per
            sample, the paper's intent).
        test_cfg (dict, optional): ``context_size`` (default 128) and
            ``quantize`` as in :class:`BaseDerainer`.
        pad_multiple (int): See :class:`BaseDerainer`. Defaults to 1.
        init_cfg (dict, optional): Initialisation config.
        data_preprocessor (dict, optional): Data preprocessor config; the
            training pipeline packs ``img_ctx`` and ``gt_ctx`` (whole images
            resized to the crop size) as data keys.
    """

    #: The backbone without its modulation MLPs, and the modulation MLPs
    #: (``g2pa``) with the encoder, both stepped every iteration (official
    #: ``base_optimizer`` / ``tran_optimizer``).
    optim_wrapper_names = ('base', 'tran')
    optim_wrapper_help = (
        "GroupedOptimWrapperConstructor with groups 'base' (generator "
        "without g2pa) and 'tran' (generator g2pa + encoder), as in "
        'configs/_base_/schedules/coic_adam_260k.py')

    def __init__(self,
                 generator: dict,
                 encoder: dict,
                 pixel_loss: Union[dict, List[dict]],
                 contrastive_loss: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pad_multiple: int = 1,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(
            generator=generator,
            pixel_loss=pixel_loss,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            pad_multiple=pad_multiple,
            init_cfg=init_cfg,
            data_preprocessor=data_preprocessor)
        if not any(
                isinstance(m, CoIMConv2d) for m in self.generator.modules()):
            raise ValueError(
                'CoICDerainer: the generator has no CoIMConv2d layer; build '
                "it with conv_cfg=dict(type='CoIMConv2d', code_dim=...)")
        self.encoder = MODELS.build(encoder)
        self.contrastive_loss = MODELS.build(contrastive_loss)
        self.stage1_iters = int(self._train_opt('stage1_iters', 40_000))
        self.num_detail_negatives = int(
            self._train_opt('num_detail_negatives', 4))
        self.rain_bank_batches = int(self._train_opt('rain_bank_batches', 1))
        self.per_sample_negatives = bool(
            self._train_opt('per_sample_negatives', False))
        self.context_size = int(self._test_opt('context_size', 128))
        if self.rain_bank_batches < 1 or self.num_detail_negatives < 0:
            raise ValueError('train_cfg: rain_bank_batches must be >= 1 and '
                             'num_detail_negatives >= 0')
        self._rain_bank: List[torch.Tensor] = []
        self._shared_code: Optional[torch.Tensor] = None

    # ------------------------------------------------------------------ #
    # codes
    # ------------------------------------------------------------------ #
    def _to_rgb_unit(self, x: torch.Tensor) -> torch.Tensor:
        """Preprocessed tensors -> RGB images in [0, 1] (encoder space)."""
        x = self.data_preprocessor.to_unit_range(x)
        order = str(self.data_preprocessor.output_channel_order).upper()
        return x.flip(1) if order == 'BGR' else x

    def code_of(self, images: torch.Tensor) -> torch.Tensor:
        """Test-time code ``z`` of whole images.

        Args:
            images (Tensor): RGB images in [0, 1], (N, 3, H, W).

        Returns:
            Tensor: Codes (N, code_dim) from the key encoder in eval mode.
        """
        size = self.context_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(
                images, (size, size),
                mode='bilinear',
                align_corners=False,
                antialias=True)
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.no_grad():
                return self.encoder.key_code(images)
        finally:
            self.encoder.train(was_training)

    @contextmanager
    def _code(self, code: Optional[torch.Tensor]) -> Iterator[None]:
        """Forward passes inside the block use ``code`` (None: plain)."""
        previous = self._shared_code
        self._shared_code = code
        try:
            yield
        finally:
            self._shared_code = previous

    def image_context(self, images: torch.Tensor):
        """Use one code, from the whole ``images``, for every forward pass
        inside the block (tiled inference).

        Args:
            images (Tensor): RGB images in [0, 1], (N, 3, H, W).

        Returns:
            A context manager.
        """
        return self._code(self.code_of(images))

    def forward_tensor(self,
                       inputs: torch.Tensor,
                       data_samples=None,
                       **kwargs) -> torch.Tensor:
        """Derain with the code of ``inputs`` (or the one of the enclosing
        :meth:`image_context` / training step)."""
        code = self._shared_code
        if code is _PLAIN:
            code = None
        elif code is None:
            code = self.code_of(self._to_rgb_unit(inputs))
        elif code.shape[0] != inputs.shape[0]:
            code = code.expand(inputs.shape[0], -1)
        with modulation_code(self.generator, code):
            return super().forward_tensor(inputs, data_samples, **kwargs)

    # ------------------------------------------------------------------ #
    # training
    # ------------------------------------------------------------------ #
    def _rain_negative(self, rainy: torch.Tensor,
                       clean: torch.Tensor) -> torch.Tensor:
        """Clean crops plus the most different rain layer of the bank."""
        rain = rainy - clean
        self._rain_bank.append(rain.detach())
        del self._rain_bank[:-self.rain_bank_batches]
        bank = torch.cat(self._rain_bank) if len(
            self._rain_bank) > 1 else self._rain_bank[0]
        return (clean + hardest_rain_negative(rain, bank)).clamp(0., 1.)

    def _contrastive_batch(self, rainy: torch.Tensor, clean: torch.Tensor,
                           samples) -> tuple:
        """Query, positive and negatives of the contrastive loss."""
        for key in ('img_ctx', 'gt_ctx'):
            if key not in samples:
                raise KeyError(
                    f'CoICDerainer needs data samples with {key!r} (the whole '
                    'image resized to the crop size): add Resize(keys=[img, '
                    'gt], output_keys=[img_ctx, gt_ctx]) to the pipeline and '
                    'pack them with PackInputs(data_keys=[...])')
        im_q = self._to_rgb_unit(samples.img_ctx)
        ctx_gt = self._to_rgb_unit(samples.gt_ctx)
        if rainy.shape[-2:] != im_q.shape[-2:]:
            raise ValueError(
                'CoICDerainer: img_ctx must have the crop size '
                f'{tuple(rainy.shape[-2:])}, got {tuple(im_q.shape[-2:])}')
        im_k = detail_negatives(
            im_q, 1, blur=False, per_sample=self.per_sample_negatives)[:, 0]
        negs = [self._rain_negative(rainy, clean).unsqueeze(1)]
        if self.num_detail_negatives:
            negs.append(
                detail_negatives(
                    ctx_gt,
                    self.num_detail_negatives,
                    per_sample=self.per_sample_negatives))
        return im_q, im_k, torch.cat(negs, dim=1)

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """One iteration: warm-up (plain backbone) or CoIC step.

        Args:
            data (dict): A batch (``inputs`` rainy crops, ``data_samples``
                with ``gt_img`` and, after warm-up, ``img_ctx``/``gt_ctx``).
            optim_wrapper (OptimWrapperDict): Wrappers ``base`` and
                ``tran``, e.g. from ``GroupedOptimWrapperConstructor`` with
                ``exclude``/``include=dict(generator='g2pa')``.

        Returns:
            dict[str, Tensor]: Logged values: the pixel loss(es), and after
            warm-up ``loss_contrastive`` and ``contrastive_acc`` (fraction
            of samples whose positive scores above every negative).
        """
        self.check_optim_wrappers(optim_wrapper)
        data = self.data_preprocessor(data, True)
        inputs, samples = data['inputs'], data['data_samples']
        warmup = self.current_step() <= self.stage1_iters
        names = self.optim_wrapper_names
        with optim_wrapper[names[0]].optim_context(self):
            if warmup:
                with self._code(_PLAIN):
                    losses = self.forward_train(inputs, samples)
                extra = {}
            else:
                rainy = self._to_rgb_unit(inputs)
                clean = self._to_rgb_unit(samples.gt_img)
                im_q, im_k, negs = self._contrastive_batch(
                    rainy, clean, samples)
                logits, code = self.encoder(im_q, im_k, negs)
                with self._code(code):
                    losses = self.forward_train(inputs, samples)
                losses['loss_contrastive'] = self.contrastive_loss(logits)
                with torch.no_grad():
                    acc = (logits[:, 0:1] > logits[:, 1:]).all(1).float()
                extra = dict(contrastive_acc=acc.mean())
            loss, log = self.parse_losses(losses)
        self.update_wrappers(optim_wrapper, names, loss)
        log.update(extra)
        return log
