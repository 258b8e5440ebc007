# Copyright (c) mmderain contributors. All rights reserved.
"""Save grids of generated rain during VRGNet training."""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmderain.registry import HOOKS


@HOOKS.register_module()
class RainSampleHook(Hook):
    """Every ``interval`` iterations, save what the rain generator makes.

    Writes ``<work_dir>/rain_samples/iter_<N>.png``: a grid whose first row
    holds rain layers ``G(z)`` of ``num`` fixed codes (the same codes at
    every save, so grids show how the generator evolves), the second row
    the first clean patches of the current batch with that rain added
    (``clamp(B + G(z))``), the third row the real rainy patches.

    Args:
        interval (int): Iterations between saves. Defaults to 1000.
        num (int): Samples per row. Defaults to 8.
        seed (int): Seed of the fixed codes. Defaults to 0.
        out_dir (str, optional): Output folder. Defaults to
            ``<work_dir>/rain_samples``.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 num: int = 8,
                 seed: int = 0,
                 out_dir: Optional[str] = None) -> None:
        if interval < 1 or num < 1:
            raise ValueError('interval and num must be >= 1')
        self.interval = interval
        self.num = num
        self.seed = seed
        self.out_dir = out_dir

    @staticmethod
    def _patches(images: Sequence[torch.Tensor], num: int,
                 size: int) -> torch.Tensor:
        out = [img[:, :size, :size].float() / 255. for img in images[:num]]
        return torch.stack(out)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """Save a grid every ``interval`` iterations (and at the last)."""
        if not (self.every_n_train_iters(runner, self.interval)
                or self.is_last_train_iter(runner)):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        gen = model.rain_generator
        gen = gen.module if is_model_wrapper(gen) else gen
        device = next(gen.parameters()).device
        g = torch.Generator().manual_seed(self.seed)
        z = torch.randn(self.num, gen.latent_dim, generator=g).to(device)
        was_training = gen.training
        gen.eval()
        with torch.no_grad():
            rain = gen(z).cpu().clamp(0, 1)
        gen.train(was_training)
        rows = [rain]
        if data_batch is not None:
            size = rain.shape[-1]
            samples = data_batch['data_samples']
            # images are packed in the loaded channel order (RGB configs)
            clean = self._patches([s.gt_img for s in samples], self.num, size)
            rainy = self._patches(data_batch['inputs'], self.num, size)
            n = min(len(clean), self.num)
            rows += [(clean[:n] + rain[:n]).clamp(0, 1), rainy[:n]]
        from torchvision.utils import make_grid
        grid = make_grid(
            torch.cat(rows), nrow=self.num, padding=2, pad_value=1.0)
        arr = (grid * 255 + 0.5).byte().permute(1, 2, 0).numpy()
        out_dir = self.out_dir or osp.join(runner.work_dir, 'rain_samples')
        os.makedirs(out_dir, exist_ok=True)
        path = osp.join(out_dir, f'iter_{runner.iter + 1}.png')
        cv2.imwrite(path,
                    cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR))
