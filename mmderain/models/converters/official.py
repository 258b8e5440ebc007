# Copyright (c) mmderain contributors. All rights reserved.
"""Reading official checkpoints and writing converted mmderain ones."""
import io
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Sequence, Tuple, Type

import torch

from mmderain.utils.checkpoint import AtomicLocalBackend
from mmderain.utils.safe_loading import CheckpointError, load_checkpoint_file


def convert_official_checkpoint(src: str, dst: str,
                                convert_fn: Callable[[dict], tuple],
                                generator_type: str, source: str) -> dict:
    """Convert an official checkpoint into an mmderain checkpoint.

    The official file is loaded with ``weights_only=True`` (a plain state
    dict, or a dict holding one under ``'state_dict'``), mapped by
    ``convert_fn`` and written atomically as
    ``{'state_dict': {'generator.<key>': ...}, 'meta': ...}``, which
    ``tools/test.py``, ``tools/derain.py`` and ``load_from`` read.

    Args:
        src (str): Official checkpoint.
        dst (str): Output path.
        convert_fn (Callable): ``state_dict -> (state_dict, generator
            args)``, e.g.
            :func:`~mmderain.models.converters.convert_official_prenet`.
        generator_type (str): Registered name of the network, recorded in
            ``meta['generator']``.
        source (str): Where the weights come from (official repository).

    Returns:
        dict: The generator arguments ``convert_fn`` detected.
    """
    state, args = convert_fn(load_official_state_dict(src))
    save_converted_checkpoint({f'generator.{k}': v
                               for k, v in state.items()},
                              dict(
                                  converted_from=osp.basename(src),
                                  source=source,
                                  generator=dict(type=generator_type, **args)),
                              dst)
    return args


def load_official_state_dict(src: str) -> dict:
    """Load an official checkpoint's state dict with ``weights_only=True``.

    Args:
        src (str): A plain state dict file, or a dict holding one under
            ``'state_dict'``.

    Returns:
        dict: The state dict.

    Raises:
        FileNotFoundError: If ``src`` does not exist.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'official checkpoint not found: {src}')
    official = torch.load(src, map_location='cpu', weights_only=True)
    if isinstance(official, dict) and 'state_dict' in official:
        official = official['state_dict']
    return official


def _is_state_dict(obj) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        isinstance(v, torch.Tensor) for v in obj.values())


def read_official_container(src: str, entry: str,
                            expected: str) -> Tuple['OrderedDict', List[str]]:
    """The state dict of an official training file, read weights-only.

    Accepts a bare state dict, or a dict holding one under ``entry`` (the
    official name, e.g. ``'model'`` or ``'net'``) or ``'state_dict'``.

    Args:
        src (str): The file.
        entry (str): The official entry of the network's state dict.
        expected (str): What the file should be, for error messages.

    Returns:
        tuple[OrderedDict, list[str]]: The state dict and the other
        top-level entries, not converted (e.g. the optimiser's).

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        CheckpointError: If ``src`` cannot be read weights-only or holds no
            state dict where one is expected (naming the file and entry).
    """
    ckpt = load_checkpoint_file(src, map_location='cpu')
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f'{src} holds a {type(ckpt).__name__}: '
                              f'{expected}')
    if _is_state_dict(ckpt):
        return OrderedDict(ckpt), []
    for name in (entry, 'state_dict'):
        if name not in ckpt:
            continue
        if not _is_state_dict(ckpt[name]):
            raise CheckpointError(
                f'{src}: entry {name!r} holds no state dict of tensors '
                f'(a {type(ckpt[name]).__name__}); {expected}')
        return OrderedDict(ckpt[name]), [k for k in ckpt if k != name]
    raise CheckpointError(f"{src} has no {entry!r} entry (its keys: "
                          f'{first_keys(ckpt)}): {expected}')


def save_converted_checkpoint(state_dict: dict, meta: dict, dst: str) -> None:
    """Write ``{'state_dict': state_dict, 'meta': meta}`` atomically.

    Args:
        state_dict (dict): Model keys (``generator.*``, ...) to tensors.
        meta (dict): Where the weights come from and the architectures.
        dst (str): Output path; its folder is created if needed.
    """
    buf = io.BytesIO()
    torch.save(dict(state_dict=state_dict, meta=meta), buf)
    AtomicLocalBackend().put(buf.getvalue(), dst)


def first_keys(keys: Sequence[str], n: int = 6) -> str:
    """The first ``n`` keys, comma-separated, ``...`` if there are more."""
    keys = list(keys)
    return ', '.join(map(str, keys[:n])) + (' ...' if len(keys) > n else '')


def expected_shapes(model_cls: type,
                    args: Mapping) -> Dict[str, Tuple[int, ...]]:
    """State-dict shapes of ``model_cls(**args)``, built on the meta device
    (nothing allocated)."""
    with torch.device('meta'):
        model = model_cls(**args)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_layout(state_dict: Mapping[str, torch.Tensor],
                 expected: Mapping[str, Tuple[int, ...]],
                 what: str,
                 key_error: Type[Exception] = KeyError,
                 shape_error: Type[Exception] = ValueError) -> None:
    """Check converted tensors against the keys and shapes a network has.

    Args:
        state_dict (Mapping): The converted tensors.
        expected (Mapping): Key -> shape of the target network (e.g.
            :func:`expected_shapes`).
        what (str): What is checked, starting the messages (e.g. the
            file and the architecture).
        key_error (type): Raised for missing or unexpected keys.
        shape_error (type): Raised for tensors of another shape (the
            first six are named).
    """
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        raise key_error(f'{what}: missing keys [{first_keys(missing)}], '
                        f'unexpected keys [{first_keys(unexpected)}]')
    bad = [(k, tuple(state_dict[k].shape), tuple(shape))
           for k, shape in expected.items()
           if tuple(state_dict[k].shape) != tuple(shape)]
    if bad:
        shown = '; '.join(f'tensor {k!r} has shape {got}, expected {want}'
                          for k, got, want in bad[:6])
        more = f' ... ({len(bad) - 6} more)' if len(bad) > 6 else ''
        raise shape_error(f'{what}: shape mismatch: {shown}{more}')
