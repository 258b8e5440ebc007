# Copyright (c) mmderain contributors. All rights reserved.
"""Start a training stage from the checkpoint of the previous stage."""
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmderain.registry import HOOKS
from mmderain.utils.safe_loading import load_prefixed_weights


def resolve_checkpoint(path: str) -> str:
    """A checkpoint file, or the one a work dir's ``last_checkpoint`` names.

    Args:
        path (str): A ``.pth`` file, or the work dir of a finished run.

    Returns:
        str: The checkpoint file.

    Raises:
        FileNotFoundError: If the file (or the work dir's
            ``last_checkpoint`` record) does not exist.
    """
    if osp.isdir(path):
        record = osp.join(path, 'last_checkpoint')
        if not osp.isfile(record):
            raise FileNotFoundError(
                f'{path} is a directory without a last_checkpoint record; '
                'name the previous stage\'s checkpoint file instead')
        with open(record) as f:
            path = f.read().strip()
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'previous-stage checkpoint {path} not found: train that stage '
            'first (or set the checkpoint path in the config)')
    return path


def load_generator_state(path: str) -> Dict[str, torch.Tensor]:
    """Generator weights of an mmderain checkpoint (``generator.*`` keys).

    Args:
        path (str): Checkpoint file written by a runner or a converter.

    Returns:
        dict[str, Tensor]: The generator state dict, prefix removed.

    Raises:
        KeyError: If the checkpoint holds no ``generator.*`` weights.
    """
    out = load_prefixed_weights(path, 'generator.')
    if not out:
        raise KeyError(
            f'{path} holds no generator.* weights: expected a checkpoint of '
            'an mmderain derainer (convert official weights with '
            'tools/convert/)')
    return out


@HOOKS.register_module()
class LoadStageCheckpointHook(Hook):
    """Start a training stage from the previous stage's checkpoint.

    Before training it reads the generator weights of ``checkpoint`` and

    * with ``teacher=True`` loads them into the model's frozen teacher
      (``model.load_teacher``), on every run: teachers are not saved in
      checkpoints, so resumed runs reload it from the same file;
    * initialises the generator's parameters whose names start with one of
      ``init_prefixes`` from them, only on a fresh start: when the runner
      resumed or loaded weights (``resume``/``load_from``), those win.

    DLINet's stage 2 uses ``init_prefixes=('rain_estimate.', 'fusion.')``:
    estimation and fusion start from stage 1, the new detector from scratch.

    Args:
        checkpoint (str): The previous stage's checkpoint file, or its work
            dir (the file named in ``last_checkpoint`` is used).
        teacher (bool): Load the weights into the teacher. Defaults to True.
        init_prefixes (Sequence[str]): Generator key prefixes to initialise
            from the checkpoint; every one must match at least one key with
            the same shape. Defaults to ``()`` (none).
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 checkpoint: str,
                 teacher: bool = True,
                 init_prefixes: Sequence[str] = ()):
        if not checkpoint:
            raise ValueError('LoadStageCheckpointHook needs `checkpoint`')
        self.checkpoint = checkpoint
        self.teacher = teacher
        self.init_prefixes = tuple(init_prefixes)

    def before_train(self, runner) -> None:
        """Load the teacher and (on fresh starts) initialise the generator.
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        path = resolve_checkpoint(self.checkpoint)
        state = load_generator_state(path)
        if self.teacher:
            if not hasattr(model, 'load_teacher'):
                raise TypeError(f'{type(model).__name__} has no teacher '
                                '(load_teacher); set teacher=False')
            model.load_teacher(state)
            runner.logger.info(f'Teacher loaded from {path}')
        if not self.init_prefixes:
            return
        if getattr(runner, '_has_loaded', False):
            runner.logger.info(
                f'Generator not initialised from {path}: the run resumed or '
                'loaded a checkpoint')
            return
        self.init_generator(model.generator, state, path, runner.logger)

    def init_generator(self,
                       generator: torch.nn.Module,
                       state: Dict[str, torch.Tensor],
                       path: str,
                       logger: Optional[object] = None) -> None:
        """Copy the ``init_prefixes`` tensors of ``state`` into the generator.

        Raises:
            KeyError: If a prefix matches no key of the generator or the
                checkpoint, or a tensor is missing or differs in shape.
        """
        own = generator.state_dict()
        selected = {}
        for prefix in self.init_prefixes:
            keys = [k for k in own if k.startswith(prefix)]
            if not keys:
                raise KeyError(f'init prefix {prefix!r} matches no generator '
                               'key')
            for key in keys:
                if key not in state:
                    raise KeyError(f'{path} has no {key!r} (needed by init '
                                   f'prefix {prefix!r})')
                if state[key].shape != own[key].shape:
                    raise KeyError(
                        f'{key!r}: {tuple(state[key].shape)} in {path}, '
                        f'{tuple(own[key].shape)} in the generator')
                selected[key] = state[key]
        generator.load_state_dict(selected, strict=False)
        if logger is not None:
            prefixes = ', '.join(self.init_prefixes)
            logger.info(f'Generator: {len(selected)} tensors ({prefixes}) '
                        f'initialised from {path}; '
                        f'{len(own) - len(selected)} keep their initial '
                        'values')
