# Copyright (c) mmderain contributors. All rights reserved.
"""Safe checkpoint loading and atomic checkpoint writing for MMEngine.

Two defects of MMEngine 0.10.7 on a current PyTorch are fixed here without
weakening security:

* **Resume on torch >= 2.6.** ``torch.load`` defaults to
  ``weights_only=True`` since torch 2.6, and MMEngine 0.10.7 calls it without
  the argument, so a training checkpoint (which stores MMEngine's
  ``HistoryBuffer`` and NumPy arrays in its message hub) fails with
  ``Unsupported global: ... HistoryBuffer``.
  :func:`allow_mmengine_checkpoint_globals` adds exactly the types such
  checkpoints contain to torch's allow-list
  (``torch.serialization.add_safe_globals``); ``weights_only`` stays on, so
  arbitrary pickled code is still refused. MMEngine's
  ``HistoryBuffer.__getstate__`` also pickles its built-in statistics
  methods (``min``/``max``/``mean``/``current``), which protocol 2 encodes
  as ``builtins.getattr(HistoryBuffer, 'min')``; allow-listing ``getattr``
  would let a crafted file walk attributes of every allowed object, so
  instead those four re-derivable entries are left out of the pickled state
  (custom statistics methods are still stored). Checkpoints written this way
  load in plain MMEngine too; checkpoints written by plain MMEngine need
  ``torch.serialization.safe_globals([getattr])`` if you trust them.
* **Atomic writes.** MMEngine's ``LocalBackend.put`` opens the destination
  for writing and streams into it, so an interrupted save (disk full, killed
  job) leaves a truncated checkpoint in place of the previous one.
  :class:`AtomicLocalBackend` writes to a temporary file in the same folder,
  flushes it to disk and renames it over the destination (``os.replace`` is
  atomic on POSIX and Windows). :func:`use_atomic_local_backend` registers it
  as MMEngine's ``'local'`` backend, which checkpoints, ``last_checkpoint``
  and every other local write of MMEngine go through.
"""
import importlib
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import List, Union

import numpy as np
import torch
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.fileio.io import backend_instances
from mmengine.logging import HistoryBuffer


def mmengine_checkpoint_globals() -> List[type]:
    """The non-tensor types found in MMEngine training checkpoints.

    Returns:
        list: ``HistoryBuffer`` and the NumPy array/scalar reconstruction
        callables and dtype classes it (and logged NumPy scalars) pickle.
    """
    # NumPy's pickling entry points moved to ``numpy._core`` in NumPy 2.
    multiarray = importlib.import_module(
        'numpy._core.multiarray'
        if np.__version__ >= '2' else 'numpy.core.multiarray')
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [
        HistoryBuffer, multiarray._reconstruct, multiarray.scalar, np.ndarray,
        np.dtype, *sorted(set(dtype_classes), key=lambda c: c.__name__)
    ]


def _history_buffer_getstate(self: HistoryBuffer) -> dict:
    """``HistoryBuffer`` state without its re-derivable built-in methods.

    Unlike MMEngine's version it does not modify the instance either.
    """
    state = self.__dict__.copy()
    state.pop('statistics_methods', None)
    custom = {
        name: method
        for name, method in self._statistics_methods.items()
        if getattr(HistoryBuffer, name, None) is not method
    }
    if custom:
        state['statistics_methods'] = custom
    return state


def allow_mmengine_checkpoint_globals() -> None:
    """Make MMEngine training checkpoints loadable with ``weights_only``.

    Idempotent. Allow-lists the types of :func:`mmengine_checkpoint_globals`
    and makes ``HistoryBuffer`` pickle without ``getattr`` references (see
    the module docstring). After this call ``torch.load(path)``
    (``weights_only=True``, the default on torch >= 2.6) loads checkpoints
    saved in this process or by any mmderain run, so ``--resume`` works;
    every other global is still refused.
    """
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def _target_mode(filepath: str) -> int:
    """Permission bits a file written at ``filepath`` should get."""
    if osp.exists(filepath):
        return os.stat(filepath).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put``/``put_text``.

    The data is written to a temporary file next to the destination,
    flushed and fsynced, then renamed over the destination, so readers see
    either the old complete file or the new complete file, never a partial
    one. If writing fails the temporary file is removed and the old file is
    left untouched.
    """

    def _atomic_write(self, data: bytes, filepath: Union[str, Path]) -> None:
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(
            prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=folder)
        try:
            # mkstemp creates 0600 files: give the permissions a plain
            # open() would (the old file's, or 0666 minus the umask)
            os.chmod(tmp_path, _target_mode(filepath))
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_path, filepath)
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Atomically write bytes to ``filepath`` (creating its folder)."""
        self._atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Atomically write text to ``filepath`` (creating its folder)."""
        self._atomic_write(obj.encode(encoding), filepath)


def use_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` MMEngine's ``'local'`` backend.

    Idempotent. Cached ``LocalBackend`` instances are dropped so that the
    next ``get_file_backend`` call creates an atomic one.
    """
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    for key in [
            k for k, v in backend_instances.items() if type(v) is LocalBackend
    ]:
        del backend_instances[key]
