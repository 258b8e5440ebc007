# Copyright (c) mmderain contributors. All rights reserved.
"""Train a fresh network on every image: Rain2Avoid's per-image SDRL."""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmengine.structures import BaseDataElement

from mmderain.ops import fuse_sdrs
from mmderain.registry import LOOPS
from mmderain.utils.imports import quiet_mmagic_import

with quiet_mmagic_import():
    from mmagic.structures import DataSample

ORDERS = ('lexicographic', 'numeric')


def sdr_order(num: int, order: str) -> List[int]:
    """The order in which one epoch visits the ``num`` references.

    The official ``sdrl.py`` lists the SDR files ``0.png .. 49.png`` as
    sorted strings, so an epoch visits 0, 1, 10, 11, ..., 19, 2, 20, ...

    Args:
        num (int): Number of references.
        order (str): ``'lexicographic'`` (official) or ``'numeric'``.

    Returns:
        list[int]: Reference indices.
    """
    if order not in ORDERS:
        raise ValueError(f'order must be one of {ORDERS}, got {order!r}')
    if order == 'numeric':
        return list(range(num))
    return sorted(range(num), key=str)


@LOOPS.register_module()
class PerImageTrainLoop(BaseLoop):
    """For every image, train a fresh network on its SDRs, then derain it.

    Rain2Avoid's "Single" mode (the official ``sdrl.py``): for each image
    of the dataset, the model's parameters and buffers are reset (every
    submodule's ``reset_parameters()``, i.e. the default initialisation
    of a newly built network, drawn from the seeded generator in module
    order) and the optimiser's state is cleared; then ``epochs`` passes
    over its references take one optimiser step each with the image as
    input and reference k as target (``model.train_step``, so the model's
    losses, the optimiser wrapper and the hooks apply), at full size.
    Finally the model in eval mode derains the image, the output is
    written to ``<work_dir>/<out_dir>/<key>.png`` and, when the sample has
    a clean image, the evaluator's metrics are computed, for the output
    for the fused reference (the rounded mean of the SDRs, the target the
    expected loss regresses to) and for the rainy input.

    The samples come from the dataloader's dataset (an
    :class:`~mmderain.datasets.SDRDataset`) whose pipeline puts all
    references into ``data_samples.sdrs`` (``LoadSDRs`` or
    ``GenerateSDRs``, then ``PackInputs(data_keys=['sdrs'])``).

    Progress is logged every ``log_interval`` steps and after each image.
    An image that cannot be processed (unreadable, missing references or
    mask, a size the network refuses, a non-finite loss) is logged with
    the reason and skipped; the run goes on. :attr:`failures` lists them
    with the images the dataset could not use, and ``tools/train.py``
    ends with a summary and exit status 1 when it is not empty.

    Written to ``<work_dir>/<out_dir>/``: ``<key>.png`` (derained),
    ``<key>.json`` (loss per step, metrics every ``eval_interval`` steps,
    final metrics) and ``summary.json`` (per-image and mean metrics,
    failures).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Its dataset gives the samples.
        epochs (int): Passes over the references of each image. Defaults
            to 100 (5,000 steps with 50 references).
        order (str): Reference order within an epoch, see
            :func:`sdr_order`. Defaults to ``'lexicographic'``.
        max_steps (int, optional): Stop each image after this many steps
            (a shortened schedule). Defaults to None.
        evaluator (list[dict], optional): Metrics of the outputs against
            the clean images. Defaults to None.
        eval_interval (int, optional): Also evaluate the eval-mode output
            every this many steps (the learning curve). Defaults to None.
        log_interval (int): Steps between progress lines. Defaults to 500.
        out_dir (str): Output folder in the work dir. Defaults to
            ``'per_image'``.
        skip_done (bool): Skip the images whose output and log are already
            in ``out_dir`` (their metrics are read from the log), to
            continue an interrupted run. Defaults to False (every image is
            trained again and its files replaced).
    """

    def __init__(self,
                 runner,
                 dataloader,
                 epochs: int = 100,
                 order: str = 'lexicographic',
                 max_steps: Optional[int] = None,
                 evaluator: Optional[Union[dict, Sequence[dict]]] = None,
                 eval_interval: Optional[int] = None,
                 log_interval: int = 500,
                 out_dir: str = 'per_image',
                 skip_done: bool = False) -> None:
        if get_world_size() > 1:
            raise RuntimeError(
                'PerImageTrainLoop trains one network per image in one '
                'process (a DDP-wrapped model would average the gradients '
                'of different images); to use several processes, give each '
                'run a part of the images (train_dataloader.dataset.ann_file)'
                ' and a work dir of its own')
        super().__init__(runner, dataloader)
        if epochs < 1:
            raise ValueError(f'epochs must be >= 1, got {epochs}')
        sdr_order(1, order)
        self.dataset = self.dataloader.dataset
        self.num_sdrs = getattr(self.dataset, 'num_sdrs', None)
        if self.num_sdrs is None:
            raise TypeError('PerImageTrainLoop needs an SDRDataset (with '
                            f'num_sdrs), got {type(self.dataset).__name__}')
        self.epochs, self.order = epochs, order
        steps = epochs * self.num_sdrs
        self.steps = steps if max_steps is None else min(steps, max_steps)
        self.evaluator = (
            runner.build_evaluator(evaluator) if evaluator else None)
        self.eval_interval = eval_interval
        self.log_interval = log_interval
        self.out_dir = osp.join(runner.work_dir, out_dir)
        self.skip_done = skip_done
        self._iter = 0
        self._epoch = 0
        #: (image key, reason) of the images that could not be processed.
        self.failures: List[Tuple[str, str]] = list(
            getattr(self.dataset, 'failures', []))
        self.results: Dict[str, dict] = {}

    @property
    def max_epochs(self) -> int:
        """One "epoch" per image."""
        return len(self.dataset)

    @property
    def max_iters(self) -> int:
        """Steps over all images."""
        return len(self.dataset) * self.steps

    @property
    def epoch(self) -> int:
        """Index of the current image."""
        return self._epoch

    @property
    def iter(self) -> int:
        """Steps taken over all images."""
        return self._iter

    def _model(self) -> torch.nn.Module:
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def reset(self) -> None:
        """A fresh network and optimiser: default init, empty state."""
        model = self._model()
        for module in model.modules():
            if module is not model and hasattr(module, 'reset_parameters'):
                module.reset_parameters()
        wrappers = self.runner.optim_wrapper
        if hasattr(wrappers, 'values'):
            wrappers = list(wrappers.values())
        else:
            wrappers = [wrappers]
        for wrapper in wrappers:
            wrapper.optimizer.state.clear()
            wrapper.optimizer.zero_grad(set_to_none=True)

    def run(self) -> torch.nn.Module:
        """Process every image; returns the model."""
        runner = self.runner
        os.makedirs(self.out_dir, exist_ok=True)
        runner.call_hook('before_train')
        total = len(self.dataset)
        for index in range(total):
            key = self.dataset.get_data_info(index)['key']
            self._epoch = index
            start = time.time()
            done = self._done_before(key)
            if done is not None:
                self.results[key] = done
                runner.logger.info(f'[{index + 1}/{total}] {key}: done '
                                   'before, skipped (skip_done)')
                continue
            try:
                self.results[key] = self.run_image(index, key)
            except Exception as err:  # noqa: B902 - reported, run goes on
                reason = f'{type(err).__name__}: {err}'
                self.failures.append((key, reason))
                runner.logger.error(
                    f'[{index + 1}/{total}] {key}: FAILED ({reason}); '
                    'going on with the next image')
                continue
            runner.logger.info(f'[{index + 1}/{total}] {key} done in '
                               f'{time.time() - start:.1f} s: ' +
                               _describe(self.results[key]))
        self._write_summary()
        runner.call_hook('after_train')
        return runner.model

    def _done_before(self, key: str) -> Optional[dict]:
        """The metrics of an image finished by an earlier run (skip_done)."""
        log = osp.join(self.out_dir, f'{key}.json')
        if not (self.skip_done and osp.isfile(log)
                and osp.isfile(osp.join(self.out_dir, f'{key}.png'))):
            return None
        with open(log) as f:
            return json.load(f)['metrics']

    def run_image(self, index: int, key: str) -> dict:
        """Train on one image's references and derain it.

        Args:
            index (int): Sample index.
            key (str): Its key, for names.

        Returns:
            dict: Final metrics (``output``, and ``fused_sdr`` when the
            sample has references and a clean image).
        """
        runner, model = self.runner, self.runner.model
        data = self.dataset.prepare_data(index)
        sample = data['data_samples']
        sdrs = sample.get('sdrs')
        if sdrs is None or sdrs.ndim != 4 or len(sdrs) != self.num_sdrs:
            raise ValueError(
                f'sample {key} has no stack of {self.num_sdrs} references '
                "(data_samples.sdrs): end the pipeline with LoadSDRs or "
                "GenerateSDRs and PackInputs(data_keys=['sdrs'])")
        order = sdr_order(self.num_sdrs, self.order)
        self.reset()
        model.train()
        runner.call_hook('before_train_epoch')
        losses, curve = [], []
        start = time.time()
        for step in range(self.steps):
            target = DataSample(
                gt_img=sdrs[order[step % len(order)]],
                metainfo=dict(sample.metainfo))
            batch = dict(inputs=[data['inputs']], data_samples=[target])
            runner.call_hook(
                'before_train_iter', batch_idx=step, data_batch=batch)
            outputs = model.train_step(
                batch, optim_wrapper=runner.optim_wrapper)
            runner.call_hook(
                'after_train_iter',
                batch_idx=step,
                data_batch=batch,
                outputs=outputs)
            losses.append(outputs['loss'].item())
            self._iter += 1
            done = step + 1
            if self.log_interval and done % self.log_interval == 0:
                took = time.time() - start
                eta = took / done * (self.steps - done)
                runner.logger.info(
                    f'[{index + 1}/{len(self.dataset)}] {key}: step '
                    f'{done}/{self.steps}, loss {losses[-1]:.6f}, '
                    f'{took:.0f} s, ETA {eta:.0f} s')
            if (self.eval_interval and done % self.eval_interval == 0
                    and done < self.steps):
                curve.append(dict(step=done, **self._evaluate(data)[0]))
                model.train()
        runner.call_hook('after_train_epoch')
        metrics, outputs = self._evaluate(data)
        self._save_image(key, _pred_img(outputs[0]))
        metrics = dict(output=metrics)
        if metrics['output']:
            # the fused reference and the rainy input, scored against the
            # same clean image
            fused = fuse_sdrs(sdrs).float()
            for name, img in (('fused_sdr', fused), ('input',
                                                     data['inputs'].float())):
                if self._rgb(sample):
                    img = img.flip(0)  # predictions are BGR
                scored = outputs[0].clone()
                scored.set_data(dict(pred_img=img))
                metrics[name] = self._metrics(data, [scored])
        curve.append(dict(step=self.steps, **metrics['output']))
        self._write_json(
            osp.join(self.out_dir, f'{key}.json'),
            dict(
                key=key,
                steps=self.steps,
                loss=losses,
                curve=curve,
                metrics=metrics))
        return metrics

    @staticmethod
    def _rgb(sample: BaseDataElement) -> bool:
        order = sample.metainfo.get('img_channel_order', 'bgr')
        return str(order).lower() == 'rgb'

    @torch.no_grad()
    def _evaluate(self, data: dict) -> Tuple[dict, list]:
        """Metrics ({} without gt) and outputs of the eval-mode model.

        The outputs' ``pred_img`` is BGR in [0, 255] (mmagic's convention).
        """
        model = self.runner.model
        model.eval()
        outputs = model.val_step(
            dict(inputs=[data['inputs']], data_samples=[data['data_samples']]))
        return self._metrics(data, outputs), outputs

    def _metrics(self, data: dict, outputs: list) -> dict:
        """The evaluator's metrics of ``outputs`` (empty without gt)."""
        if (self.evaluator is None
                or data['data_samples'].get('gt_img') is None):
            return {}
        self.evaluator.process(data_samples=outputs, data_batch=data)
        return {k: float(v) for k, v in self.evaluator.evaluate(1).items()}

    def _save_image(self, key: str, pred_bgr: torch.Tensor) -> None:
        img = pred_bgr.detach().cpu().float().clamp(0, 255)
        img = np.ascontiguousarray(img.round().byte().permute(1, 2, 0).numpy())
        path = osp.join(self.out_dir, f'{key}.png')
        os.makedirs(osp.dirname(path), exist_ok=True)
        tmp = path + '.tmp.png'
        if not cv2.imwrite(tmp, img):
            raise OSError(f'cannot write {path}')
        os.replace(tmp, path)

    @staticmethod
    def _write_json(path: str, obj: dict) -> None:
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=1)
        os.replace(tmp, path)

    def _write_summary(self) -> None:
        means: Dict[str, Dict[str, float]] = {}
        for which in ('output', 'fused_sdr', 'input'):
            rows = [r[which] for r in self.results.values() if r.get(which)]
            if rows:
                means[which] = {
                    k: float(np.mean([r[k] for r in rows]))
                    for k in rows[0]
                }
        self._write_json(
            osp.join(self.out_dir, 'summary.json'),
            dict(
                images=self.results,
                mean=means,
                failures=[dict(key=k, reason=r) for k, r in self.failures]))
        logger = self.runner.logger
        logger.info(f'{len(self.results)} image(s) done, '
                    f'{len(self.failures)} failed; outputs in '
                    f'{self.out_dir}')
        for which, values in means.items():
            logger.info('mean: ' + _describe({which: values}))
        for key, reason in self.failures:
            logger.error(f'failed: {key}: {reason}')


def _pred_img(sample: BaseDataElement) -> torch.Tensor:
    """``pred_img`` of a model output (top level or under ``output``)."""
    if 'pred_img' in sample:
        return sample.pred_img
    return sample.output.pred_img


def _describe(metrics: dict) -> str:
    parts = []
    for which, values in metrics.items():
        if values:
            shown = ', '.join(f'{k} {v:.4f}' for k, v in values.items())
            parts.append(f'{which} {shown}')
    return '; '.join(parts) or 'no ground truth (no metrics)'
