# Copyright (c) mmderain contributors. All rights reserved.
"""Base model shared by all mmderain derainers."""
from contextlib import contextmanager, nullcontext
from types import MappingProxyType
from typing import (ContextManager, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from torch import nn

from mmderain.registry import MODELS
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.models import BaseEditModel
    from mmagic.structures import DataSample

#: The data preprocessor every derainer uses unless configured otherwise:
#: RGB inputs scaled to [0, 1].
DEFAULT_PREPROCESSOR = dict(
    type='DerainDataPreprocessor',
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    output_channel_order='RGB')

_QUANTIZE_MODES = ('round', 'trunc', None)
_NORM_STATS = ('running', 'batch')


def quantize(img: torch.Tensor, mode: Optional[str]) -> torch.Tensor:
    """Quantise images in [0, 255] to integer levels, as saving them would.

    Args:
        img (Tensor): Images with values in [0, 255].
        mode (str, optional): ``'round'`` (round half up, what writing a
            correctly rounded 8-bit image gives), ``'trunc'`` (``uint8(255*x)``
            as many official MATLAB/NumPy test scripts do, e.g. PReNet's) or
            ``None`` (keep floats).

    Returns:
        Tensor: Quantised images, still floating point.
    """
    if mode not in _QUANTIZE_MODES:
        raise ValueError(
            f'test_cfg.quantize must be one of {_QUANTIZE_MODES}, got {mode!r}'
        )
    if mode == 'round':
        return torch.floor(img + 0.5)
    if mode == 'trunc':
        return torch.floor(img)
    return img


@MODELS.register_module()
class BaseDerainer(BaseEditModel):
    """Single-image derainer: a generator trained with pixel losses.

    Inputs arrive from the data preprocessor; with the default
    :data:`DEFAULT_PREPROCESSOR` they are RGB in [0, 1]. Predictions handed
    to metrics and visualisers follow mmagic's convention: BGR in [0, 255]
    (``pred_img``), quantised as ``test_cfg['quantize']`` says.

    The contract every derainer keeps (methods override what they need,
    see ``docs/adding_a_method.md``):

    - :meth:`derain_tensor`: RGB [0, 1] in, RGB [0, 1] out; the one entry
      point of :mod:`mmderain.apis` (whole images and tiles alike).
    - :meth:`image_context`: a context manager entered around all tiles of
      one image by tiled inference; a no-op here, models that condition on
      the whole image (CoIC's instance code) compute it there.
    - :attr:`pad_multiple`: the spatial multiple the generator needs;
      :meth:`forward_tensor` pads and crops back.
    - :meth:`forward_tensor` (the generator call in preprocessed space),
      :meth:`forward_train` (the loss dict) and
      :meth:`forward_inference` (``pred_img`` for metrics).
    - :meth:`current_step`: the training iteration, for schedules inside
      a method's own ``train_step`` (warm-ups, alternating updates).
    - :meth:`register_frozen_module`: a helper network (a distillation
      teacher) that follows the model's device and dtype but is not
      trained, saved or switched to train mode A frozen module named
      ``'teacher'`` is :attr:`teacher`, loaded by :meth:`load_teacher`
      (what :class:`~mmderain.engine.hooks.LoadStageCheckpointHook`
      calls).
    - :attr:`inference_prefixes`: the state-dict key prefixes that testing
      and deraining need (None: all). A method whose other networks only
      train (VRGNet's rain generator and critic) lists its derainer's, so
      that ``tools/test.py``/``tools/derain.py`` accept a checkpoint of the
      derainer alone; those keys still load strictly.

    Methods with their own training step over several optimisers derive
    from :class:`~mmderain.models.base_models.MultiOptimDerainer`.

    Args:
        generator (dict): Config of the deraining network.
        pixel_loss (dict | list[dict]): Config(s) of the loss(es) between
            prediction and ground truth; several losses are summed and
            logged separately.
        train_cfg (dict, optional): Training options:

            - ``stage_loss_weights`` (list[float]): for multi-stage networks
              whose forward accepts ``return_stages=True``, weight of the
              loss on each stage's output (deep supervision). Default: only
              the final output is supervised.
        test_cfg (dict, optional): Test options:

            - ``quantize`` (str | None): output quantisation before metrics,
              ``'round'`` (default), ``'trunc'`` or ``None``.
            - ``norm_stats`` (str): the statistics batch normalisation uses
              outside training: ``'running'`` (default, eval mode) or
              ``'batch'``, those of the images being derained, as an
              official script that never calls ``model.eval()`` does
              (Rain2Avoid's ``test_all.py``); the running statistics are
              left unchanged.
            - ``tile`` (int, optional): images with a side longer than
              this are derained tile by tile
              (:func:`~mmderain.apis.derain_tensor_tiled`, outputs
              clamped to [0, 1]), so that large real photos fit in memory
              (a 2848x4288 photo needs about 20 GB whole even for a small
              SSID-KD network). Default: whole images.
            - ``tile_overlap`` (int): overlap of the tiles in pixels.
              Defaults to 32.
        pad_multiple (int): The generator needs spatial sizes divisible by
            this; inputs are reflect-padded and outputs cropped back.
            Defaults to 1.
        init_cfg (dict, optional): Initialisation config.
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to :data:`DEFAULT_PREPROCESSOR`.
    """

    #: Key prefixes inference needs (None: every key); see above.
    inference_prefixes: Optional[Tuple[str, ...]] = None

    def __init__(self,
                 generator: dict,
                 pixel_loss: Union[dict, Sequence[dict]],
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 pad_multiple: int = 1,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = ConfigDict(DEFAULT_PREPROCESSOR)
        losses = (
            list(pixel_loss) if isinstance(pixel_loss,
                                           (list, tuple)) else [pixel_loss])
        if not losses:
            raise ValueError('pixel_loss needs at least one loss config')
        super().__init__(
            generator=generator,
            pixel_loss=losses[0],
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
            data_preprocessor=data_preprocessor)
        self.extra_losses = torch.nn.ModuleList(
            MODELS.build(cfg) for cfg in losses[1:])
        if pad_multiple < 1:
            raise ValueError(f'pad_multiple must be >= 1, got {pad_multiple}')
        self.pad_multiple = pad_multiple
        quantize(torch.zeros(1), self._test_opt('quantize', 'round'))
        tile = self._test_opt('tile')
        if tile is not None and (isinstance(tile, bool)
                                 or not isinstance(tile, int) or tile <= 0):
            raise ValueError('test_cfg.tile must be a positive int or None, '
                             f'got {tile!r}')
        overlap = self._test_opt('tile_overlap', 32)
        if tile is not None and not (isinstance(overlap, int)
                                     and 0 <= overlap < tile):
            raise ValueError('test_cfg.tile_overlap must be an int in '
                             f'[0, tile), got {overlap!r}')
        if self._test_opt('norm_stats', 'running') not in _NORM_STATS:
            raise ValueError(f'test_cfg.norm_stats must be one of '
                             f"{_NORM_STATS}, got "
                             f"{self._test_opt('norm_stats')!r}")
        self._local_step = 0
        self._frozen_modules: Dict[str, nn.Module] = {}
        self._teacher_loaded = False

    def _train_opt(self, key: str, default=None):
        return (self.train_cfg or {}).get(key, default)

    def _test_opt(self, key: str, default=None):
        return (self.test_cfg or {}).get(key, default)

    # ------------------------------------------------------------------ #
    # training progress and frozen helpers
    # ------------------------------------------------------------------ #
    def current_step(self) -> int:
        """The 0-based training iteration of the call.

        Inside a runner this is the runner's iteration (``iter`` of the
        current :class:`~mmengine.logging.MessageHub`, so it survives
        resuming); outside a runner (tests, scripts) it is the number of
        earlier calls. Call it once per ``train_step``.

        Returns:
            int: The iteration.
        """
        step = MessageHub.get_current_instance().get_info('iter')
        if step is None:  # outside a runner: count calls
            step = self._local_step
        self._local_step += 1
        return step

    def register_frozen_module(self, name: str, module: nn.Module) -> None:
        """Attach a frozen helper network, e.g. a distillation teacher.

        The module is put in eval mode with ``requires_grad`` off, and
        kept outside the model's module tree: it is not in
        :meth:`state_dict` (checkpoints hold the deployable network only),
        :meth:`parameters` (no optimiser or DDP sees it) or
        :meth:`modules` (``init_weights`` and ``train()`` leave it alone),
        but it moves and casts with the model (``.to()``, ``.cuda()``,
        ``.half()``). Its weights are the method's business (e.g. loaded
        by a hook). Read it back with :attr:`frozen_modules`.

        Args:
            name (str): Its key in :attr:`frozen_modules`; must not name a
                parameter, buffer or submodule of the model.
            module (nn.Module): The network.

        Raises:
            KeyError: If ``name`` is taken.
        """
        if not isinstance(module, nn.Module):
            raise TypeError(f'frozen module {name!r} must be an nn.Module, '
                            f'got {type(module).__name__}')
        taken = (self._frozen_modules, self._modules, self._parameters,
                 self._buffers)
        if any(name in names for names in taken):
            raise KeyError(f'frozen module name {name!r} is taken')
        module.requires_grad_(False)
        self._frozen_modules[name] = module.eval()

    @property
    def frozen_modules(self) -> Mapping[str, nn.Module]:
        """The modules of :meth:`register_frozen_module` (read-only)."""
        return MappingProxyType(self._frozen_modules)

    @property
    def teacher(self) -> Optional[nn.Module]:
        """The frozen module ``'teacher'`` of a distilling method (or None).
        """
        return self._frozen_modules.get('teacher')

    @property
    def teacher_loaded(self) -> bool:
        """Whether :meth:`load_teacher` gave the teacher its weights."""
        return self._teacher_loaded

    def load_teacher(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load generator weights into the frozen teacher (strict).

        :class:`~mmderain.engine.hooks.LoadStageCheckpointHook` calls it
        with the previous stage's generator weights on every run.

        Args:
            state_dict (dict): A generator state dict of the teacher's
                architecture.

        Raises:
            RuntimeError: If the model has no teacher.
        """
        if self.teacher is None:
            raise RuntimeError(
                f'this {type(self).__name__} has no teacher (see its '
                'arguments: the teacher belongs to a distilling setting)')
        self.teacher.load_state_dict(state_dict, strict=True)
        self.teacher.eval()
        self._teacher_loaded = True

    def _apply(self, fn, *args, **kwargs):
        # move/cast the frozen modules with the model (not submodules)
        for module in self.__dict__.get('_frozen_modules', {}).values():
            module._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    # ------------------------------------------------------------------ #
    # generator calls
    # ------------------------------------------------------------------ #
    def _pad(self, x: torch.Tensor) -> tuple:
        """Reflect-pad ``x`` to a multiple of :attr:`pad_multiple`."""
        h, w = x.shape[-2:]
        m = self.pad_multiple
        ph, pw = (m - h % m) % m, (m - w % m) % m
        if ph or pw:
            mode = 'reflect' if ph < h and pw < w else 'replicate'
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return x, (h, w)

    @contextmanager
    def _norm_stats_context(self) -> Iterator[None]:
        """Batch statistics outside training if ``test_cfg.norm_stats``
        says ``'batch'``: the running buffers are hidden (PyTorch's batch
        norm then normalises with the batch's own statistics and updates
        nothing) and put back."""
        if self.training or self._test_opt('norm_stats',
                                           'running') == 'running':
            yield
            return
        hidden = [(m, m.running_mean, m.running_var)
                  for m in self.generator.modules()
                  if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for module, _, _ in hidden:
            module.running_mean = module.running_var = None
        try:
            yield
        finally:
            for module, mean, var in hidden:
                module.running_mean, module.running_var = mean, var

    def forward_tensor(self,
                       inputs: torch.Tensor,
                       data_samples: Optional[List[DataSample]] = None,
                       **kwargs) -> torch.Tensor:
        """Run the generator with padding; returns the final estimate.

        Args:
            inputs (Tensor): Preprocessed rainy images (N, C, H, W).
            data_samples (list[DataSample], optional): Unused.

        Returns:
            Tensor | list[Tensor]: Derained images (N, C, H, W), same space
            as ``inputs`` (a list of them when the generator returns one,
            e.g. with ``return_stages=True``).
        """
        x, (h, w) = self._pad(inputs)
        with self._norm_stats_context():
            out = self.generator(x, **kwargs)
        if isinstance(out, (list, tuple)):
            return [o[..., :h, :w] for o in out]
        return out[..., :h, :w]

    @torch.no_grad()
    def derain_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Derain RGB images in [0, 1]; the entry point of inference APIs.

        Args:
            x (Tensor): Rainy images (N, 3, H, W), RGB, [0, 1].

        Returns:
            Tensor: Derained images (N, 3, H, W), RGB, clamped to [0, 1].
        """
        pre = self.data_preprocessor
        mean = pre.mean.view(1, -1, 1, 1) if pre._enable_normalize else 0.
        std = pre.std.view(1, -1, 1, 1) if pre._enable_normalize else 1.
        if str(pre.output_channel_order).upper() == 'BGR':
            x = x.flip(1)
        out = self.forward_tensor((x * 255. - mean) / std)
        out = (out * std + mean) / 255.
        if str(pre.output_channel_order).upper() == 'BGR':
            out = out.flip(1)
        return out.clamp(0., 1.)

    def image_context(self, x: torch.Tensor) -> ContextManager:
        """Context of the whole image for the calls inside the block.

        Tiled inference (:func:`~mmderain.apis.derain_tensor_tiled`) enters
        it once per image around the :meth:`derain_tensor` calls of its
        tiles. Here it is a no-op; a model whose output depends on the
        whole image (CoIC's instance code) computes that from ``x`` and
        uses it for every tile.

        Args:
            x (Tensor): The whole rainy images (N, 3, H, W), RGB, [0, 1].

        Returns:
            A context manager.
        """
        return nullcontext()

    # ------------------------------------------------------------------ #
    # mmagic/mmengine entry points
    # ------------------------------------------------------------------ #
    def forward_inference(self,
                          inputs: torch.Tensor,
                          data_samples: Optional[List[DataSample]] = None,
                          **kwargs) -> DataSample:
        """Predict; returns BGR [0, 255] images, quantised per test_cfg.

        Args:
            inputs (Tensor): Preprocessed rainy images (N, C, H, W).
            data_samples (list[DataSample], optional): Data samples.

        Returns:
            DataSample: Stacked predictions with ``pred_img``.
        """
        tile = self._test_opt('tile')
        if tile is not None and max(inputs.shape[-2:]) > tile:
            feats = self._forward_tiled(inputs, tile,
                                        self._test_opt('tile_overlap', 32))
        else:
            feats = self.forward_tensor(inputs, data_samples, **kwargs)
        feats = self.data_preprocessor.destruct(feats, data_samples)
        feats = quantize(feats, self._test_opt('quantize', 'round'))
        return DataSample(pred_img=feats.cpu())

    def _forward_tiled(self, inputs: torch.Tensor, tile: int,
                       overlap: int) -> torch.Tensor:
        """:meth:`forward_tensor` of preprocessed images, tile by tile
        (``test_cfg.tile``)."""
        from mmderain.apis import derain_tensor_tiled
        pre = self.data_preprocessor
        if not hasattr(pre, 'to_unit_range'):
            raise TypeError('test_cfg.tile needs a DerainDataPreprocessor, '
                            f'got {type(pre).__name__}')
        bgr = str(pre.output_channel_order).upper() == 'BGR'
        x = pre.to_unit_range(inputs)
        out = derain_tensor_tiled(self, x.flip(1) if bgr else x, tile, overlap)
        return pre.from_unit_range(out.flip(1) if bgr else out)

    def forward_train(self,
                      inputs: torch.Tensor,
                      data_samples: Optional[List[DataSample]] = None,
                      **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the training losses.

        Args:
            inputs (Tensor): Preprocessed rainy images (N, C, H, W).
            data_samples (list[DataSample]): Data samples with ``gt_img``.

        Returns:
            dict[str, Tensor]: Losses, named after their classes.
        """
        gt = data_samples.gt_img
        stage_weights = self._train_opt('stage_loss_weights')
        if stage_weights is None:
            outputs, weights = [self.forward_tensor(inputs, **kwargs)], [1.]
        else:
            outputs = self.forward_tensor(inputs, return_stages=True, **kwargs)
            if len(outputs) != len(stage_weights):
                raise ValueError(
                    f'train_cfg.stage_loss_weights has {len(stage_weights)} '
                    f'weights but the generator returned {len(outputs)} '
                    'stages')
            weights = stage_weights
        losses = {}
        for loss_fn in [self.pixel_loss, *self.extra_losses]:
            name = f'loss_{type(loss_fn).__name__}'
            value = sum(w * loss_fn(out, gt)
                        for w, out in zip(weights, outputs) if w)
            losses[name] = losses.get(name, 0) + value
        return losses
