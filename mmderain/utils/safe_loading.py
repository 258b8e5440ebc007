# Copyright (c) mmderain contributors. All rights reserved.
"""One safe way to read checkpoints, and strict loading into models.

Every checkpoint mmderain reads — ``tools/test.py``, ``tools/derain.py``,
``load_from``, ``--resume``, stage hooks, rain generators — goes through
:func:`load_checkpoint_file`:

* local files and ``http(s)://`` URLs are read with
  ``torch.load(weights_only=True)``; only tensors, containers and the
  allow-listed types of MMEngine's training state
  (:func:`mmderain.utils.allow_mmengine_checkpoint_globals`) are
  unpickled, never code. URLs are downloaded into PyTorch's hub cache
  first (``torch.hub.download_url_to_file``, which does not unpickle);
* :func:`use_safe_checkpoint_loaders` registers these loaders for every
  scheme of MMEngine's ``CheckpointLoader`` (MMEngine's own http loader
  unpickles with ``weights_only=False``), so MMEngine's runner, hooks and
  ``init_cfg`` read checkpoints the same way;
* empty, truncated or foreign files give a :class:`CheckpointError` that
  names the file.

:func:`load_state_dict_strictly` loads weights into a model only when every
key and shape matches (the error names the file, the first offending keys
and, for official weights, the command that converts them) and every
floating-point tensor is finite. Partial loads are explicit: the caller
names the key prefixes that may be missing, and they are reported.
"""
import io
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlparse

import torch
from torch import nn

#: Official checkpoint converters by the class name of the network they
#: produce (the model's ``generator``), for error messages.
CONVERTERS = {
    'PReNet': 'tools/convert/prenet.py',
    'BRN': 'tools/convert/brn.py',
    'DLINet': 'tools/convert/dlinet.py',
    'VariationalPReNet': 'tools/convert/vrgnet.py',
    'R2AUNet': 'tools/convert/rain2avoid.py',
    'R2AResNet': 'tools/convert/rain2avoid.py',
    'DnCNN': 'tools/convert/rain2avoid.py',
    'SSIDKDNet': 'tools/convert/ssidkd.py',
}
#: Official checkpoint containers that hold no state dict at the top level
#: (recognised by their entries), for error messages.
OFFICIAL_CONTAINERS = [
    dict(
        entries=('model', 'optimizer', 'scheduler'),
        what='an official Rain2Avoid model.pkl',
        tool='tools/convert/rain2avoid.py'),
    dict(
        entries=('net', 'clock_net', 'opt_net'),
        what='an official SSID-KD net_latest',
        tool='tools/convert/ssidkd.py'),
]

_URL_SCHEMES = ('http://', 'https://')
_SHOWN_KEYS = 5


class CheckpointError(ValueError):
    """A checkpoint that cannot be read safely or does not fit the model.

    The message names the file and what was expected.
    """


def is_url(path: str) -> bool:
    """Whether ``path`` is an ``http://`` or ``https://`` URL."""
    return str(path).startswith(_URL_SCHEMES)


def _download(url: str) -> str:
    """Download ``url`` into the hub cache (once) and return the file."""
    folder = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(folder, exist_ok=True)
    name = osp.basename(urlparse(url).path) or 'checkpoint.pth'
    cached = osp.join(folder, name)
    if not osp.isfile(cached):
        try:
            torch.hub.download_url_to_file(url, cached, progress=True)
        except OSError as err:
            raise CheckpointError(
                f'cannot download checkpoint {url}: {err}') from err
    return cached


def _describe_unpickling_error(err: Exception) -> str:
    text = str(err)
    match = re.search(
        r'(?:Unsupported global: GLOBAL|unsupported GLOBAL) '
        r'([\w.]+)', text)
    if match:
        return (f'it stores the Python object {match.group(1)}, which is '
                'not a tensor or training state; mmderain loads weights '
                'only and never runs code from a checkpoint')
    first = next((line for line in text.splitlines() if line.strip()), text)
    return f'it is not a weights-only PyTorch checkpoint ({first.strip()})'


def load_checkpoint_file(filename: str,
                         map_location=None,
                         source: Optional[str] = None,
                         mmap: bool = False):
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Args:
        filename (str): Local path or ``http(s)://`` URL.
        map_location: As for ``torch.load``. Defaults to None.
        source (str, optional): Name of the checkpoint in messages
            (defaults to ``filename``; the URL for downloaded files).
        mmap (bool): Memory-map a zip-format file instead of reading its
            tensors (to check that it loads). Defaults to False.

    Returns:
        The loaded object (a dict for every mmderain checkpoint).

    Raises:
        FileNotFoundError: If the local file does not exist.
        CheckpointError: If the file is empty, truncated, not a PyTorch
            checkpoint, or holds anything besides weights and training
            state (pickled code is refused, not run).
    """
    filename = os.fspath(filename)
    if is_url(filename):
        return load_checkpoint_file(
            _download(filename), map_location, source=filename, mmap=mmap)
    name = source or filename
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {name}')
    if osp.getsize(filename) == 0:
        raise CheckpointError(
            f'checkpoint {name} is empty (0 bytes): an interrupted copy or '
            'save? Use another checkpoint of the run.')
    return _weights_only_load(
        filename,
        name,
        map_location,
        mmap=mmap and zipfile.is_zipfile(filename))


def load_checkpoint_bytes(data: bytes, name: str, map_location=None):
    """:func:`load_checkpoint_file` for bytes read from a storage backend.
    """
    return _weights_only_load(io.BytesIO(data), name, map_location)


def _weights_only_load(source, name: str, map_location, mmap: bool = False):
    """``torch.load(source, weights_only=True)`` with errors that name the
    checkpoint: refused globals (pickled code) and unreadable files both
    become :class:`CheckpointError`."""
    try:
        return torch.load(
            source, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f'refusing to load checkpoint {name}: '
                              f'{_describe_unpickling_error(err)}') from None
    except (EOFError, zipfile.BadZipFile, RuntimeError, ValueError) as err:
        raise CheckpointError(
            f'cannot read checkpoint {name}: truncated or not a PyTorch '
            f'checkpoint ({type(err).__name__}: '
            f'{str(err).splitlines()[0] if str(err) else ""})') from err


def _backend_loader(filename: str, map_location=None):
    """Safe loader for MMEngine storage schemes (``s3://``, ...)."""
    from mmengine.fileio import get
    return load_checkpoint_bytes(get(filename), filename, map_location)


def _refusing_loader(filename: str, map_location=None):
    raise CheckpointError(
        f'cannot load {filename}: this scheme is not supported by '
        "mmderain's weights-only loader; download the file and pass its "
        'local path')


def use_safe_checkpoint_loaders() -> None:
    """Route every scheme of MMEngine's ``CheckpointLoader`` through
    :func:`load_checkpoint_file`.

    Idempotent. Local paths and URLs load weights only; the name schemes
    (``torchvision://``, ``open-mmlab://``, ``mmcls://``) resolve to URLs
    through MMEngine and then load through the same safe http loader;
    storage schemes (``s3://``, ``petrel://``) read bytes through
    MMEngine's file backends; ``pavi://`` is refused.
    """
    from mmengine.runner import checkpoint as mme_ckpt
    loader = mme_ckpt.CheckpointLoader

    def load_from_local(filename, map_location=None):
        return load_checkpoint_file(filename, map_location)

    def load_from_http(filename, map_location=None, *args, **kwargs):
        return load_checkpoint_file(filename, map_location)

    load_from_local.safe = load_from_http.safe = True
    if getattr(loader._schemes.get(''), 'safe', False):
        return
    # the name schemes call this module global to fetch their URLs
    mme_ckpt.load_from_http = load_from_http
    for prefix, fn in list(loader._schemes.items()):
        if fn.__name__ in ('load_from_torchvision', 'load_from_openmmlab',
                           'load_from_mmcls'):
            continue
        if prefix == '':
            new = load_from_local
        elif prefix in _URL_SCHEMES:
            new = load_from_http
        elif 's3' in prefix or 'petrel' in prefix:
            new = _backend_loader
        else:
            new = _refusing_loader
        loader.register_scheme(prefix, new, force=True)
    # openmmlab:// names that map to local files use torch.load directly
    loader.register_scheme(('open-mmlab://', 'openmmlab://'),
                           _safe_openmmlab_loader(mme_ckpt),
                           force=True)


def _safe_openmmlab_loader(mme_ckpt):
    original = mme_ckpt.load_from_openmmlab

    def load_from_openmmlab(filename, map_location=None):
        name = filename.split('://', 1)[1]
        url = mme_ckpt.get_external_models().get(name, '')
        if url and not is_url(url):
            return load_checkpoint_file(
                osp.join(mme_ckpt._get_mmengine_home(), url), map_location)
        return original(filename, map_location)

    return load_from_openmmlab


# --------------------------------------------------------------------------
# strict loading into a model


def extract_state_dict(checkpoint, name: str) -> 'OrderedDict':
    """The state dict of a loaded checkpoint, ``module.`` prefixes removed.

    Args:
        checkpoint: A loaded checkpoint: ``{'state_dict': ...}`` or a plain
            state dict.
        name (str): The checkpoint's name for error messages.

    Returns:
        OrderedDict: Key to tensor.

    Raises:
        CheckpointError: If it holds no state dict.
    """
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(
            f'checkpoint {name} holds a {type(checkpoint).__name__}, not a '
            'state dict')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f'checkpoint {name} has no state dict of tensors (keys: '
            f'{_first(list(checkpoint))}).' +
            _container_hint(checkpoint, name))
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state.items())


def _container_hint(checkpoint: Mapping, name: str) -> str:
    """How to convert an official container (:data:`OFFICIAL_CONTAINERS`)."""
    for known in OFFICIAL_CONTAINERS:
        if all(e in checkpoint for e in known['entries']):
            return (f' It looks like {known["what"]}: convert it with '
                    f'`python {known["tool"]} {name} OUT.pth` and use '
                    'OUT.pth.')
    return ''


def _first(keys: Sequence[str], n: int = _SHOWN_KEYS) -> str:
    keys = list(keys)
    shown = ', '.join(keys[:n])
    return shown + (f', ... ({len(keys)} in all)' if len(keys) > n else '')


def non_finite_keys(state: Mapping[str, torch.Tensor]) -> List[str]:
    """Keys of floating-point tensors holding NaN or infinity."""
    return [
        k for k, v in state.items()
        if torch.is_tensor(v) and (v.is_floating_point() or v.is_complex())
        and not bool(torch.isfinite(v).all())
    ]


def check_finite(state: Mapping[str, torch.Tensor], name: str) -> None:
    """Raise if any floating-point tensor of ``state`` is not finite.

    Raises:
        CheckpointError: Naming the checkpoint and the first such keys.
    """
    bad = non_finite_keys(state)
    if bad:
        raise CheckpointError(
            f'checkpoint {name} holds NaN or infinite values in {len(bad)} '
            f'of {len(state)} tensors ({_first(bad)}): the run that saved it '
            'diverged; use an earlier checkpoint')


def _converter_hint(model: nn.Module, state: Mapping, name: str) -> str:
    """How to convert official weights, if ``state`` looks like them."""
    own = model.state_dict()
    top = {k.split('.', 1)[0] for k in own}
    if any(k.split('.', 1)[0] in top for k in state):
        return ''
    generator = getattr(model, 'generator', None)
    tool = CONVERTERS.get(type(generator).__name__) if generator else None
    if tool is None:
        tools = ', '.join(sorted(set(CONVERTERS.values())))
        return (f' The keys carry none of the model\'s prefixes '
                f'({", ".join(sorted(top))}): if these are official weights, '
                f'convert them first ({tools}).')
    return (' It looks like an official, unconverted checkpoint: convert it '
            f'with `python {tool} {name} OUT.pth` and use OUT.pth.')


def load_state_dict_strictly(model: nn.Module,
                             state: Mapping[str, torch.Tensor],
                             name: str,
                             allow_missing: Iterable[str] = (),
                             logger=None) -> List[str]:
    """Load ``state`` into ``model``, every key and shape matching.

    Args:
        model (nn.Module): The model.
        state (Mapping): Key to tensor (``module.`` already removed).
        name (str): The checkpoint's name for messages.
        allow_missing (Iterable[str]): Key prefixes of the model that the
            checkpoint may lack (an intended partial load); such keys keep
            their initialisation and are reported. Defaults to none.
        logger: MMEngine logger or name for the report; None prints
            through ``print_log``'s default.

    Returns:
        list[str]: The model keys that were left as they were.

    Raises:
        CheckpointError: If keys are missing (outside ``allow_missing``),
            unexpected or of another shape, or a tensor is not finite. The
            message names the file and the first offending keys.
    """
    own = model.state_dict()
    allow = tuple(allow_missing)
    missing = [k for k in own if k not in state]
    skipped = [k for k in missing if allow and k.startswith(allow)]
    missing = [k for k in missing if k not in skipped]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f'{k} (checkpoint {tuple(state[k].shape)}, model '
        f'{tuple(own[k].shape)})' for k in state
        if k in own and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing keys ({_first(missing)})')
    if unexpected:
        problems.append(
            f'{len(unexpected)} unexpected keys ({_first(unexpected)})')
    if mismatched:
        problems.append(f'{len(mismatched)} tensors of another shape '
                        f'({_first(mismatched, 3)})')
    if problems:
        raise CheckpointError(
            f'checkpoint {name} does not fit {type(model).__name__}'
            f'{_generator_desc(model)}: ' + '; '.join(problems) + '.' +
            _converter_hint(model, state, name))
    check_finite(state, name)
    model.load_state_dict(state, strict=False)
    if skipped:
        from mmengine.logging import print_log
        print_log(
            f'{name}: {len(skipped)} model tensors are not in the '
            f'checkpoint and keep their initialisation (allowed prefixes '
            f'{", ".join(allow)}): {_first(skipped)}',
            logger=logger or 'current')
    return skipped


def _generator_desc(model: nn.Module) -> str:
    generator = getattr(model, 'generator', None)
    if isinstance(generator, nn.Module):
        return f' (generator {type(generator).__name__})'
    return ''


def training_only_prefixes(model: nn.Module) -> Tuple[str, ...]:
    """Key prefixes of a model that inference does not use.

    From the model's ``inference_prefixes`` (see
    :class:`~mmderain.models.base_models.BaseDerainer`): the top-level
    prefixes of every other key. Empty when the model declares none.
    """
    needed = tuple(getattr(model, 'inference_prefixes', None) or ())
    if not needed:
        return ()
    return tuple(
        sorted({
            k.split('.', 1)[0] + '.'
            for k in model.state_dict() if not k.startswith(needed)
        }))


def load_weights(model: nn.Module,
                 filename: str,
                 allow_missing: Iterable[str] = (),
                 logger=None,
                 for_inference: bool = False) -> Dict:
    """Read ``filename`` safely and load its weights strictly into ``model``.

    Args:
        model (nn.Module): The model (unwrapped).
        filename (str): Local path or URL.
        allow_missing (Iterable[str]): See :func:`load_state_dict_strictly`.
        logger: See :func:`load_state_dict_strictly`.
        for_inference (bool): The weights are for testing or deraining:
            the networks inference does not use
            (:func:`training_only_prefixes`) may be missing (reported).

    Returns:
        dict: The loaded checkpoint.
    """
    checkpoint = load_checkpoint_file(filename, map_location='cpu')
    state = extract_state_dict(checkpoint, filename)
    allow = tuple(allow_missing)
    if for_inference:
        allow += training_only_prefixes(model)
    load_state_dict_strictly(model, state, filename, allow, logger)
    return checkpoint


def load_prefixed_weights(filename: str,
                          prefix: str,
                          logger=None) -> Dict[str, torch.Tensor]:
    """The ``prefix*`` tensors of a checkpoint, prefix removed.

    For the intended partial loads (a stage's teacher, a VRGNet rain
    generator for augmentation): the file is read weights-only, the
    selected tensors must be finite, and the tensors left out are logged.

    Args:
        filename (str): Local path or URL.
        prefix (str): Key prefix, e.g. ``'generator.'``.
        logger: MMEngine logger or name for the report. Defaults to the
            current logger.

    Returns:
        dict[str, Tensor]: The selected tensors; empty if none match.
    """
    state = extract_state_dict(
        load_checkpoint_file(filename, map_location='cpu'), filename)
    out = {
        k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }
    if out:
        check_finite(out, filename)
        others = sorted({k.split('.', 1)[0]
                         for k in state} - {prefix.split('.', 1)[0]})
        if others:
            from mmengine.logging import print_log
            print_log(
                f'{filename}: loaded the {len(out)} {prefix}* tensors; '
                f'{len(state) - len(out)} others ({", ".join(others)}) are '
                'not used here',
                logger=logger or 'current')
    return out
