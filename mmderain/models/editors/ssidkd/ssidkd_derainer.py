# Copyright (c) mmderain contributors. All rights reserved.
"""SSID-KD training logic: supervised teacher, semi-supervised student."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmderain.models.base_models import BaseDerainer
from mmderain.registry import MODELS
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.structures import DataSample

#: ``kd_mode`` values: what the code loss compares.
KD_MODES = ('official', 'distill')


@MODELS.register_module()
class SSIDKDDerainer(BaseDerainer):
    """Derainer of SSID-KD (Cui et al., IEEE TCSVT), teacher and student.

    The generator returns ``(derain, rain, code)``
    (:class:`~mmderain.models.SSIDKDNet`); inference uses ``derain``.

    * **Teacher** (``kd_mode=None``, official ``train_<D>.py``): supervised
      on synthetic pairs with ``pixel_loss`` (officially -SSIM).
    * **Student** (``kd_mode`` set, official ``train_<D>_real.py``): every
      iteration one batch of synthetic pairs (``inputs``, ``gt_img``) and
      one batch of real rainy photos (``data_samples.real_img``, packed by
      :class:`~mmderain.datasets.PairedUnpairedDataset`) go through the
      same network, and

      ``loss = pixel_loss(syn) + sum_p [p(derain_syn) + p(derain_real)]
      + code_loss``

      with ``pixel_loss`` = 20 * L1 and ``prior_losses`` the dark-channel
      and TV priors (1e-6 each) officially. ``code_loss`` compares the
      softmax distributions over the channels of the 1/4-scale codes:

      - ``'official'``: ``code_loss(code_syn, code_real)``, the student's
        own codes of the synthetic and of the real batch (neither side
        detached). There is no separate teacher; with the official
        ``1e-6 * KL(reduction='mean')`` the term is about 3e-11 against
        1.05 for 20 * L1 at initialisation, i.e. it does nothing.
      - ``'distill'``: ``code_loss(code_real, teacher_code_real)``, the
        student's code of the real batch pulled towards that of a frozen
        copy of the teacher (``teacher``, loaded from the teacher's
        checkpoint by :class:`~mmderain.engine.hooks.
        LoadStageCheckpointHook` with ``teacher=True``; it is not saved
        in checkpoints). This is the distillation the paper describes.

    The student starts from the teacher's weights: the same hook with
    ``init_prefixes=('', )``.

    Args:
        generator (dict): Config of the network (an ``SSIDKDNet``).
        pixel_loss (dict | list[dict]): Supervised loss(es) on the
            synthetic pairs. Defaults to ``SSIMLoss`` (-SSIM, the
            teacher's).
        prior_losses (list[dict], optional): Student: losses of one
            image batch (``loss(derain)``), applied to the synthetic and
            the real outputs and summed. Defaults to None.
        code_loss (dict, optional): Student: loss ``(code, target_code)``
            between codes. Defaults to None.
        kd_mode (str, optional): None (teacher), ``'official'`` or
            ``'distill'``. Defaults to None.
        teacher (dict, optional): ``'distill'`` only: config of the frozen
            teacher network. Defaults to the generator's config.
        train_cfg, test_cfg, pad_multiple, init_cfg, data_preprocessor:
            As in :class:`~mmderain.models.BaseDerainer`.
    """

    def __init__(self,
                 generator: dict,
                 pixel_loss: Union[dict,
                                   Sequence[dict]] = dict(type='SSIMLoss'),
                 prior_losses: Optional[Sequence[dict]] = None,
                 code_loss: Optional[dict] = None,
                 kd_mode: Optional[str] = None,
                 teacher: Optional[dict] = None,
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
        if kd_mode is not None and kd_mode not in KD_MODES:
            raise ValueError(f'kd_mode must be None (teacher) or one of '
                             f'{KD_MODES}, got {kd_mode!r}')
        if kd_mode is None and (prior_losses or code_loss):
            raise ValueError('prior_losses and code_loss train the student: '
                             "set kd_mode ('official' or 'distill')")
        if kd_mode is not None and code_loss is None:
            raise ValueError(f'kd_mode={kd_mode!r} needs code_loss')
        if teacher is not None and kd_mode != 'distill':
            raise ValueError("teacher is only used with kd_mode='distill'")
        self.kd_mode = kd_mode
        self.prior_losses = nn.ModuleList(
            MODELS.build(cfg) for cfg in (prior_losses or ()))
        self.code_loss = MODELS.build(code_loss) if code_loss else None
        if kd_mode == 'distill':
            # not a submodule: out of the state dict, the optimiser and DDP
            self.register_frozen_module(
                'teacher', MODELS.build(teacher if teacher else generator))

    # ------------------------------------------------------------------ #
    # networks
    # ------------------------------------------------------------------ #
    def run_generator(
        self, inputs: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(derain, rain, code)`` of preprocessed images."""
        x, (h, w) = self._pad(inputs)
        derain, rain, code = self.generator(x)
        return derain[..., :h, :w], rain[..., :h, :w], code

    def forward_tensor(self,
                       inputs: torch.Tensor,
                       data_samples: Optional[List[DataSample]] = None,
                       **kwargs) -> torch.Tensor:
        """The derained images (the generator's first output)."""
        return self.run_generator(inputs)[0]

    # ------------------------------------------------------------------ #
    # training
    # ------------------------------------------------------------------ #
    def _real_batch(self, data_samples: DataSample) -> torch.Tensor:
        real = getattr(data_samples, 'real_img', None)
        if real is None:
            raise KeyError(
                f'SSIDKDDerainer(kd_mode={self.kd_mode!r}) needs real rainy '
                'images: build the training set with PairedUnpairedDataset, '
                "pack them (PackInputs(data_keys=['real_img'])) and list "
                "'real_img' in the preprocessor's optional_data_keys")
        return real

    def forward_train(self,
                      inputs: torch.Tensor,
                      data_samples: Optional[DataSample] = None,
                      **kwargs) -> Dict[str, torch.Tensor]:
        """Teacher: the pixel losses; student: pixel, prior and code losses.

        Args:
            inputs (Tensor): Preprocessed synthetic rainy images.
            data_samples (DataSample): Stacked samples with ``gt_img``
                (and ``real_img`` for the student).

        Returns:
            dict[str, Tensor]: Losses, named after their classes.
        """
        if self.kd_mode is None:
            return super().forward_train(inputs, data_samples, **kwargs)
        real = self._real_batch(data_samples)
        gt = data_samples.gt_img
        syn_derain, _, syn_code = self.run_generator(inputs)
        real_derain, _, real_code = self.run_generator(real)
        losses = {}
        for loss_fn in [self.pixel_loss, *self.extra_losses]:
            name = f'loss_{type(loss_fn).__name__}'
            losses[name] = losses.get(name, 0) + loss_fn(syn_derain, gt)
        for loss_fn in self.prior_losses:
            name = f'loss_{type(loss_fn).__name__}'
            value = loss_fn(real_derain) + loss_fn(syn_derain)
            losses[name] = losses.get(name, 0) + value
        if self.kd_mode == 'official':
            losses['loss_code'] = self.code_loss(syn_code, real_code)
        else:
            losses['loss_code'] = self.code_loss(real_code,
                                                 self.teacher_code(real))
        return losses

    @torch.no_grad()
    def teacher_code(self, inputs: torch.Tensor) -> torch.Tensor:
        """The frozen teacher's 1/4-scale code of preprocessed images."""
        if not self.teacher_loaded:
            raise RuntimeError(
                "kd_mode='distill' needs the teacher's weights: add "
                "LoadStageCheckpointHook(checkpoint=<teacher run>, "
                'teacher=True) to custom_hooks')
        x, _ = self._pad(inputs)
        return self.teacher(x)[2]
