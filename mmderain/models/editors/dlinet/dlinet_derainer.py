# Copyright (c) mmderain contributors. All rights reserved.
"""DLINet training logic: joint stage 1 and task-oriented stage 2."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import ConfigDict

from mmderain.models.base_models import BaseDerainer
from mmderain.registry import MODELS
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.structures import DataSample

#: DLINet works on RGB images in [0, 255] (official ``rgb_range = 255``):
#: its MSE is in that scale, which is why the mask BCE is weighted 1e4.
DLINET_PREPROCESSOR = dict(
    type='DerainDataPreprocessor',
    mean=[0., 0., 0.],
    std=[1., 1., 1.],
    output_channel_order='RGB')


@MODELS.register_module()
class DLINetDerainer(BaseDerainer):
    """Derainer of DLINet (Li, Chen, Chang, IEEE TIP 2024), both stages.

    The training stage is the generator's ``stage``:

    * ``'first'`` (joint training): the detector sees the rainy and the clean
      image and emits binary masks; the loss is ``pixel_loss`` between
      ``x - R`` and the clean image (official: ``MSE(R, x - y)`` in [0, 255],
      the same number). Inference needs the clean image too (``gt_img``):
      stage-1 test scores are oracle values, as in the official code.
    * ``'second'`` (task-oriented training, the deployed model): the rainy-only
      detector is also supervised by the binary masks of the frozen stage-1
      detector (``teacher``, in eval mode, run without autograd):
      ``loss = MSE + mask_loss`` with ``mask_loss`` = 1e4 * BCE officially.

    The teacher is a frozen module
    (:meth:`~mmderain.models.BaseDerainer.register_frozen_module`), not part
    of the state dict: checkpoints hold the deployable network only, and
    :class:`~mmderain.engine.hooks.LoadStageCheckpointHook` loads the teacher
    (every run, including resumed ones) and initialises the estimation and
    fusion from the stage-1 checkpoint (fresh runs only).

    Args:
        generator (dict): Config of a :class:`~mmderain.models.DLINet`.
        pixel_loss (dict | list[dict]): Reconstruction loss(es) on the
            derained image in [0, 255]. Defaults to ``MSELoss``.
        mask_loss (dict, optional): Stage 2 only: loss between the soft
            masks and the teacher's binary masks. Defaults to None (no mask
            supervision).
        teacher (dict, optional): Stage 2 only: config of the stage-1
            :class:`~mmderain.models.DLINet` (``stage='first'``) whose masks
            ``mask_loss`` targets. Defaults to the generator's config with
            ``stage='first'``.
        train_cfg (dict, optional): Training options:

            - ``crop_multiple`` (int): crop training batches (top-left
              corner kept) to a multiple of this, as the official trainer
              does (100x100 patches become 96x96). Defaults to None (pad).
        test_cfg (dict, optional): ``quantize`` as in :class:`BaseDerainer`.
        pad_multiple (int): Inputs are reflect-padded to a multiple of this
            and outputs cropped back. Defaults to 8 (the HRNet needs it).
        init_cfg (dict, optional): Initialisation config.
        data_preprocessor (dict, optional): Defaults to
            :data:`DLINET_PREPROCESSOR` (RGB in [0, 255]).
    """

    def __init__(self,
                 generator: dict,
                 pixel_loss: Union[dict,
                                   Sequence[dict]] = dict(type='MSELoss'),
                 mask_loss: Optional[dict] = None,
                 teacher: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pad_multiple: int = 8,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = ConfigDict(DLINET_PREPROCESSOR)
        super().__init__(
            generator=generator,
            pixel_loss=pixel_loss,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            pad_multiple=pad_multiple,
            init_cfg=init_cfg,
            data_preprocessor=data_preprocessor)
        stage = getattr(self.generator, 'stage', None)
        if stage not in ('first', 'second'):
            raise TypeError('DLINetDerainer needs a DLINet generator, got '
                            f'{type(self.generator).__name__}')
        if pad_multiple % self.generator.pad_multiple:
            raise ValueError(f'pad_multiple must be a multiple of '
                             f'{self.generator.pad_multiple} for DLINet, got '
                             f'{pad_multiple}')
        self.mask_loss = MODELS.build(mask_loss) if mask_loss else None
        if self.mask_loss is not None:
            if stage != 'second':
                raise ValueError('mask_loss supervises the stage-2 detector; '
                                 "the generator has stage='first'")
            if teacher is None:
                teacher = dict(generator, stage='first')
            net = MODELS.build(teacher)
            if getattr(net, 'stage', None) != 'first':
                raise ValueError("teacher must be a DLINet with stage='first'")
            if net.num_masks != self.generator.num_masks:
                raise ValueError(
                    f'teacher has {net.num_masks} masks, the generator '
                    f'{self.generator.num_masks}')
            # not a submodule: out of the state dict, the optimiser and DDP
            self.register_frozen_module('teacher', net)
        elif teacher is not None:
            raise ValueError('teacher is only used with mask_loss')

    @property
    def stage(self) -> str:
        """Training stage, ``'first'`` or ``'second'``."""
        return self.generator.stage

    @torch.no_grad()
    def teacher_masks(self, inputs: torch.Tensor,
                      gt: torch.Tensor) -> torch.Tensor:
        """Binary stage-1 masks (B, K, H, W) of preprocessed images."""
        if not self.teacher_loaded:
            raise RuntimeError(
                'the stage-1 teacher has no weights: add '
                "dict(type='LoadStageCheckpointHook', checkpoint=...) to "
                'custom_hooks, or call load_teacher()')
        (x, (h, w)), (y, _) = self._pad(inputs), self._pad(gt)
        return self.teacher.detect(x, y)[..., :h, :w]

    def forward_tensor(self,
                       inputs: torch.Tensor,
                       data_samples: Optional[List[DataSample]] = None,
                       clean: Optional[torch.Tensor] = None,
                       return_masks: bool = False,
                       **kwargs) -> torch.Tensor:
        """Derained images ``x - R`` (and with ``return_masks`` the masks).

        Args:
            inputs (Tensor): Preprocessed rainy images (N, 3, H, W).
            data_samples (DataSample, optional): Unused.
            clean (Tensor, optional): Preprocessed clean images; required
                (and only accepted) in stage ``'first'``.
            return_masks (bool): Also return the masks (N, K, H, W).
        """
        x, (h, w) = self._pad(inputs)
        if self.stage == 'first':
            if clean is None:
                raise ValueError(
                    'a stage-1 DLINet also needs the clean image (gt_img): '
                    'it is an oracle for learning mask labels; derain with '
                    'the stage-2 model')
            clean, _ = self._pad(clean)
        rain, masks = self.generator(x, clean, return_masks=True)
        derained = (x - rain)[..., :h, :w]
        if return_masks:
            return derained, masks[..., :h, :w]
        return derained

    def forward_inference(self,
                          inputs: torch.Tensor,
                          data_samples: Optional[List[DataSample]] = None,
                          **kwargs) -> DataSample:
        """Predict; a stage-1 model reads the clean images of the samples.

        At test time mmagic's preprocessor leaves ``gt_img`` BGR and not
        normalised; it is brought into the input space here.
        """
        if self.stage == 'first' and 'clean' not in kwargs:
            if data_samples is None or 'gt_img' not in data_samples:
                raise ValueError(
                    'a stage-1 DLINet needs gt_img in the data samples: it '
                    'is an oracle for learning mask labels; derain with the '
                    'stage-2 model')
            pre = self.data_preprocessor
            gt = data_samples.gt_img.to(inputs)
            if str(pre.output_channel_order).upper() == 'RGB':
                gt = gt.flip(1)
            if pre._enable_normalize:
                gt = (gt - pre.mean.view(1, -1, 1, 1)) / pre.std.view(
                    1, -1, 1, 1)
            kwargs['clean'] = gt
        return super().forward_inference(inputs, data_samples, **kwargs)

    def forward_train(self,
                      inputs: torch.Tensor,
                      data_samples: Optional[List[DataSample]] = None,
                      **kwargs) -> Dict[str, torch.Tensor]:
        """Stage-1 or stage-2 losses.

        Args:
            inputs (Tensor): Preprocessed rainy images (N, 3, H, W).
            data_samples (DataSample): Data samples with ``gt_img``.

        Returns:
            dict[str, Tensor]: ``loss_<PixelLoss>`` per pixel loss and, with
            ``mask_loss``, ``loss_mask``.
        """
        gt = data_samples.gt_img
        multiple = self._train_opt('crop_multiple')
        if multiple:
            h, w = inputs.shape[-2:]
            h, w = h - h % multiple, w - w % multiple
            if not h or not w:
                raise ValueError(f'training patches {tuple(inputs.shape)} '
                                 f'are smaller than crop_multiple={multiple}')
            inputs, gt = inputs[..., :h, :w], gt[..., :h, :w]
        derained, masks = self.forward_tensor(
            inputs,
            clean=gt if self.stage == 'first' else None,
            return_masks=True)
        losses = {
            f'loss_{type(fn).__name__}': fn(derained, gt)
            for fn in [self.pixel_loss, *self.extra_losses]
        }
        if self.mask_loss is not None:
            target = self.teacher_masks(inputs, gt)
            losses['loss_mask'] = self.mask_loss(masks, target)
        return losses
