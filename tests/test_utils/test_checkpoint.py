# Copyright (c) mmderain contributors. All rights reserved.
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer

from mmderain.utils import (AtomicLocalBackend,
                            allow_mmengine_checkpoint_globals,
                            use_atomic_local_backend)
from mmderain.utils.checkpoint import mmengine_checkpoint_globals


def _training_like_checkpoint():
    buf = HistoryBuffer()
    buf.update(0.5)
    buf.update(np.float64(0.25))
    return dict(
        meta=dict(epoch=1, iter=4, seed=np.int64(3)),
        message_hub=dict(
            log_scalars={'train/loss': buf},
            runtime_info={'best': np.float32(1.5)}),
        state_dict={'w': torch.ones(2)})


def test_weights_only_load_of_mmengine_checkpoint(tmp_path):
    path = tmp_path / 'ckpt.pth'
    allow_mmengine_checkpoint_globals()
    allow_mmengine_checkpoint_globals()  # idempotent
    torch.save(_training_like_checkpoint(), path)
    # nothing outside the allow-list, in particular no builtins.getattr
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert 'builtins.getattr' not in unsafe
    assert not set(unsafe) - {
        f'{g.__module__}.{g.__qualname__}'
        for g in mmengine_checkpoint_globals()
    }
    # the default of torch >= 2.6, and what mmengine 0.10.7 gets
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.current() == 0.25
    assert buf.mean() == 0.375
    assert buf.statistics('max') == 0.5
    assert loaded['meta']['seed'] == 3
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


class _Evil:

    def __reduce__(self):
        return (print, ('arbitrary code', ))


def test_weights_only_still_refuses_arbitrary_globals(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': _Evil()}, path)
    allow_mmengine_checkpoint_globals()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_atomic_put_replaces_or_keeps(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    target = tmp_path / 'sub' / 'epoch_1.pth'
    backend.put(b'old', target)
    assert target.read_bytes() == b'old'
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() does
    os.chmod(target, 0o640)
    backend.put_text('new text', target)
    assert target.read_text() == 'new text'
    assert target.stat().st_mode & 0o777 == 0o640  # kept on replace

    def boom(*args, **kwargs):
        raise OSError('disk full')

    monkeypatch.setattr('os.replace', boom)
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'partial', target)
    assert target.read_text() == 'new text'  # old file intact
    assert sorted(p.name for p in target.parent.iterdir()) == ['epoch_1.pth']


def test_atomic_backend_is_mmengine_local_backend(tmp_path):
    use_atomic_local_backend()
    assert isinstance(
        get_file_backend(str(tmp_path / 'a.pth')), AtomicLocalBackend)
    # mmengine's own save path goes through it
    from mmengine.runner.checkpoint import save_checkpoint
    save_checkpoint({'state_dict': {
        'w': torch.zeros(1)
    }}, str(tmp_path / 'b.pth'))
    data = torch.load(io.BytesIO((tmp_path / 'b.pth').read_bytes()))
    assert torch.equal(data['state_dict']['w'], torch.zeros(1))
