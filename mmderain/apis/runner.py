# Copyright (c) mmderain contributors. All rights reserved.
"""Config and Runner set-up shared by ``tools/train.py`` and ``tools/test.py``.

Everything the command-line tools do is reachable from Python here:

>>> from mmderain.apis.runner import build_runner
>>> runner = build_runner('configs/prenet/prenet_t6_b18-p100-100e_rain100l.py',
...                       cfg_options={'train_cfg.max_epochs': 1})
>>> runner.train()
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Tuple, Union

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmderain.engine.derain_runner import DerainRunner
from mmderain.engine.resume import find_resumable_checkpoint
from mmderain.utils import register_all_modules
from mmderain.utils.safe_loading import is_url


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Add the options every runner tool shares, then parse ``argv``.

    Adds ``--work-dir``, ``--cfg-options``, ``--launcher`` and
    ``--local_rank``/``--local-rank`` (passed by ``torch.distributed.launch``;
    torchrun sets ``LOCAL_RANK`` instead, which is kept when present).

    Args:
        parser (ArgumentParser): Parser with the tool's own arguments.
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` if None.

    Returns:
        Namespace: The parsed arguments.
    """
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value in dotted form, '
        'e.g. train_cfg.max_epochs=1')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Load a config, merge overrides and resolve the work directory.

    Work directory priority: ``work_dir`` argument, then ``work_dir`` in the
    config, then ``./work_dirs/<config file stem>``. Overrides whose
    top-level key the config does not have (e.g. a misspelt
    ``optim_wraper.optimizer.lr``) are merged but warned about, see
    :func:`mmderain.utils.config.check_cfg_options`.

    Args:
        config (str | Config): Config file path or a loaded config.
        cfg_options (dict, optional): Overrides in MMEngine's dotted-key form,
            e.g. ``{'test_dataloader.dataset.data_root': 'data/x'}``.
        work_dir (str, optional): Work directory override.

    Returns:
        Config: The merged config.
    """
    if isinstance(config, Config):
        cfg = config
        stem = osp.splitext(osp.basename(cfg.filename or 'config'))[0]
    else:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        cfg = Config.fromfile(config)
        stem = osp.splitext(osp.basename(config))[0]
    if cfg_options:
        from mmderain.utils.config import check_cfg_options

        # a misspelt top-level key would be added silently: warn
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', stem)
    return cfg


def setup_launcher(cfg: Config, launcher: str = 'none') -> Config:
    """Set the launcher and make distributed runs work without CUDA.

    With a GPU the config's ``env_cfg.dist_cfg`` (NCCL) is used as is. On a
    machine without CUDA, MMEngine 0.10.7 would call
    ``torch.cuda.set_device``; instead the process group is initialised here
    with the ``gloo`` backend from torchrun's environment, and the model is
    wrapped in ``MMDistributedDataParallel`` with ``device_ids=None`` (CPU
    DDP).

    Args:
        cfg (Config): The config, modified in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        Config: ``cfg``.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    if launcher != 'pytorch':
        raise RuntimeError(f'launcher {launcher!r} needs CUDA; on a CPU-only '
                           "machine use torchrun (launcher 'pytorch')")
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = dict(
        cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
    wrapper.setdefault('device_ids', None)
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper
    return cfg


def build_runner(config: Union[str, Config],
                 cfg_options: Optional[dict] = None,
                 work_dir: Optional[str] = None,
                 launcher: str = 'none',
                 resume: Union[bool, str, None] = None,
                 load_from: Optional[str] = None,
                 amp: bool = False) -> Runner:
    """Build an MMEngine Runner for an mmderain config.

    Args:
        config (str | Config): Config file path or loaded config.
        cfg_options (dict, optional): Dotted-key overrides.
        work_dir (str, optional): Work directory override.
        launcher (str): Job launcher. Defaults to ``'none'``.
        resume (bool | str, optional): ``True`` resumes from the latest
            checkpoint of the work directory, a path resumes from that
            checkpoint, ``None``/``False`` keeps the config's setting. With
            ``True``, a config's own ``load_from`` (a warm start, such as a
            pretrained derainer) is only used when the work directory has no
            checkpoint yet, and then as a warm start; MMEngine alone would
            try to resume from it.
        load_from (str, optional): Checkpoint whose weights initialise the
            model (no training state), e.g. for testing.
        amp (bool): Use mixed precision (``AmpOptimWrapper``).

    Returns:
        Runner: A :class:`~mmderain.engine.DerainRunner` (checkpoints load
        weights only and strictly), ready for ``train()``/``test()``.
    """
    register_all_modules(init_default_scope=False)
    cfg = load_config(config, cfg_options, work_dir)
    setup_launcher(cfg, launcher)
    if isinstance(resume, str):
        _check_checkpoint_path(resume)
        cfg.resume = True
        cfg.load_from = resume
    elif resume:
        _resume_latest(cfg)
    if load_from is not None:
        _check_checkpoint_path(load_from)
        cfg.load_from = load_from
    if amp:
        _enable_amp(cfg)
    # every run stops on a non-finite loss and rotates checkpoints safely,
    # also with a config of its own
    default_hooks = cfg.setdefault('default_hooks', {})
    if 'nonfinite' not in default_hooks:
        default_hooks['nonfinite'] = dict(type='NonFiniteLossHook')
    checkpoint = default_hooks.get('checkpoint')
    if isinstance(checkpoint, dict) and checkpoint.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook'):
        checkpoint['type'] = 'SafeCheckpointHook'
    os.makedirs(osp.abspath(cfg.work_dir), exist_ok=True)
    return DerainRunner.from_cfg(cfg)


def _check_checkpoint_path(path: str) -> None:
    """A local checkpoint must exist (URLs are checked when loaded)."""
    if not is_url(path) and not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')


def _resume_latest(cfg: Config) -> None:
    """Point ``cfg`` at the work directory's checkpoint to resume from.

    That is the file ``last_checkpoint`` names, or, when that record is
    empty, garbage or names a missing or unloadable file, the newest
    loadable ``iter_N.pth``/``epoch_N.pth``
    (:func:`mmderain.engine.resume.find_resumable_checkpoint`). Without one,
    the run starts afresh from the config's ``load_from`` if it has one
    (``resume`` off), or from scratch.

    Args:
        cfg (Config): The config, modified in place.

    Raises:
        RuntimeError: If the work directory has checkpoints but none loads.
    """
    work_dir = osp.abspath(cfg.work_dir)
    latest = find_resumable_checkpoint(work_dir)
    if latest is not None:
        cfg.resume = True
        cfg.load_from = latest
    elif cfg.get('load_from'):
        print_log(
            f'No checkpoint to resume in {cfg.work_dir}; starting from '
            f'load_from={cfg.load_from} instead.',
            logger='current')
        cfg.resume = False
    else:
        # MMEngine would try a broken last_checkpoint record again
        print_log(
            f'No checkpoint to resume in {cfg.work_dir}; starting afresh.',
            logger='current')
        cfg.resume = False


class _MetricsRecorder(Hook):
    """Keeps the metrics of the last test epoch."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.metrics = None

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.metrics = metrics


def run_test(runner: Runner) -> dict:
    """Run ``runner.test()`` and return its metrics.

    mmagic's ``MultiTestLoop`` (used by the dataset configs to test several
    sets in one run) does not return its metrics; they are taken from the
    ``after_test_epoch`` hook call instead, for either loop.

    Args:
        runner (Runner): The runner.

    Returns:
        dict: ``{metric name: averaged value}`` (metric names carry their
        test set's prefix when one is configured).
    """
    recorder = _MetricsRecorder()
    runner.register_hook(recorder)
    returned = runner.test()
    return dict(recorder.metrics if recorder.metrics is not None else returned)


def per_image_results(runner: Runner) -> dict:
    """Per-image values of the metrics of the last ``runner.test()``.

    Metrics that keep them (``per_image``, e.g. ``MatlabPSNR``) are
    reported under the same name as in the averaged results.

    Args:
        runner (Runner): A runner whose ``test()`` has run.

    Returns:
        dict: ``{metric name: {image name: value}}``.
    """
    loop = runner.test_loop  # TestLoop, or mmagic's MultiTestLoop
    evaluators = getattr(loop, 'evaluators', None) or [loop.evaluator]
    out = {}
    for evaluator in evaluators:
        for metric in evaluator.metrics:
            values = getattr(metric, 'per_image', None)
            if values is None:
                continue
            name = getattr(metric, 'metric', type(metric).__name__)
            if metric.prefix:
                name = f'{metric.prefix}/{name}'
            out[name] = {str(k): v for k, v in values}
    return out


def input_failures(runner: Runner) -> List[Tuple[str, str]]:
    """The inputs a training run could not process, with the reasons.

    Collected from the train loop (``failures`` of a loop that goes on
    past a bad image, e.g. :class:`~mmderain.engine.PerImageTrainLoop`),
    else from the training dataset (``failures`` of a dataset that
    leaves out what it cannot use, e.g. :class:`~mmderain.datasets.
    SDRDataset`, also inside a wrapper such as ``RepeatDataset``).

    Args:
        runner (Runner): A runner after ``train()``.

    Returns:
        list[tuple[str, str]]: ``(input, reason)`` pairs.
    """
    loop = getattr(runner, '_train_loop', None)
    if hasattr(loop, 'failures'):
        return list(loop.failures)
    dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
    found: List[Tuple[str, str]] = []
    stack = [dataset]
    while stack:
        ds = stack.pop()
        if ds is None:
            continue
        found.extend(getattr(ds, 'failures', []))
        stack.append(getattr(ds, 'dataset', None))
        stack.extend(getattr(ds, 'datasets', []))
    return found


def _enable_amp(cfg: Config) -> None:
    """Switch every optimizer wrapper of ``cfg`` to ``AmpOptimWrapper``."""
    wrapper = cfg.optim_wrapper
    wrappers = ([wrapper] if 'type' in wrapper or 'optimizer' in wrapper else
                [w for w in wrapper.values() if isinstance(w, dict)])
    for w in wrappers:
        if w.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            continue
        if w.get('type', 'OptimWrapper') != 'OptimWrapper':
            raise ValueError('--amp supports OptimWrapper only, got '
                             f"{w.get('type')}")
        w['type'] = 'AmpOptimWrapper'
        w.setdefault('loss_scale', 'dynamic')
