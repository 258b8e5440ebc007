# Copyright (c) mmderain contributors. All rights reserved.
"""Find the checkpoint to resume from, and clean up after killed writes.

MMEngine resumes from the file named in ``<work_dir>/last_checkpoint``. When
that record is empty (a kill while MMEngine wrote it), holds garbage or names
a missing or truncated file, MMEngine fails with ``FileNotFoundError:  can
not be found``. :func:`find_resumable_checkpoint` falls back to the newest
checkpoint of the work dir that loads. :func:`remove_stale_tmp_files`
removes the hidden temporary files a killed atomic write
(:class:`mmderain.utils.AtomicLocalBackend`) leaves behind.
"""
import logging
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from mmengine.logging import print_log

from mmderain.utils.checkpoint import allow_mmengine_checkpoint_globals
from mmderain.utils.safe_loading import load_checkpoint_file

#: Names of the periodic checkpoints of MMEngine's ``CheckpointHook``.
CHECKPOINT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')
#: Names of the temporary files of ``AtomicLocalBackend``
#: (``tempfile.mkstemp(prefix='.<name>.', suffix='.tmp')``).
TMP_NAME = re.compile(r'^\..+\.[a-z0-9_]{8}\.tmp$')


def check_loadable(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None if it can.

    The file must open with
    :func:`mmderain.utils.safe_loading.load_checkpoint_file` (after
    :func:`mmderain.utils.allow_mmengine_checkpoint_globals`) and hold a
    training checkpoint (``meta`` and ``state_dict``). Zip-format files are
    memory-mapped, so tensor data is not read.

    Args:
        path (str): The checkpoint file.

    Returns:
        str | None: The reason, e.g. ``'truncated or corrupt (...)'``.
    """
    if not osp.isfile(path):
        return 'does not exist'
    allow_mmengine_checkpoint_globals()
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu', mmap=True)
    except Exception as e:  # whatever fails, the file is unusable
        return f'does not load ({type(e).__name__}: {e})'
    if not isinstance(ckpt, dict) or not {'meta', 'state_dict'} <= set(ckpt):
        return 'is not a training checkpoint (no meta/state_dict)'
    return None


def _read_pointer(work_dir: str) -> Tuple[Optional[str], str]:
    """The checkpoint ``last_checkpoint`` names, or None and why not."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(record):
        return None, 'there is no last_checkpoint'
    with open(record, 'rb') as f:
        raw = f.read(4096)
    try:
        text = raw.decode('utf-8').strip()
    except UnicodeDecodeError:
        return None, f'{record} holds no path (binary content)'
    if not text:
        return None, f'{record} is empty'
    if '\n' in text or '\0' in text:
        return None, f'{record} holds no single path: {text[:80]!r}'
    if not osp.isabs(text):
        text = osp.join(work_dir, text)
    reason = check_loadable(text)
    if reason is not None:
        return None, f'{record} names {text}, which {reason}'
    return text, f'{record} names it'


def list_checkpoints(work_dir: str) -> List[str]:
    """The periodic checkpoints (``iter_N.pth``/``epoch_N.pth``) of a dir.

    Args:
        work_dir (str): The folder.

    Returns:
        list[str]: Paths, newest first: by the number in the name, then
        by modification time.
    """
    if not osp.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = CHECKPOINT_NAME.match(name)
        path = osp.join(work_dir, name)
        if match and osp.isfile(path):
            found.append((int(match.group(2)), osp.getmtime(path), path))
    return [path for _, _, path in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a resumed run of ``work_dir`` should start from.

    The file ``last_checkpoint`` names when it loads; otherwise (record
    missing, empty, garbage, or naming a missing or unloadable file) the
    newest loadable ``iter_N.pth``/``epoch_N.pth`` of ``work_dir``. Files
    that do not load are skipped with a warning naming them. The choice and
    its reason are logged.

    Args:
        work_dir (str): The work directory.

    Returns:
        str | None: The checkpoint, or None if the work dir has none.

    Raises:
        RuntimeError: If the work dir has checkpoints but none loads
            (starting afresh would overwrite them).
    """
    path, why = _read_pointer(work_dir)
    if path is not None:
        print_log(f'Resuming from {path}: {why}.', logger='current')
        return path
    candidates = list_checkpoints(work_dir)
    if not candidates:
        if osp.exists(osp.join(work_dir, 'last_checkpoint')):
            print_log(
                f'{why} and {work_dir} holds no iter_N.pth/epoch_N.pth: '
                'nothing to resume.',
                logger='current',
                level=logging.WARNING)
        return None
    skipped = []
    for candidate in candidates:
        reason = check_loadable(candidate)
        if reason is None:
            print_log(
                f'{why}; resuming from the newest loadable checkpoint '
                f'{candidate}.',
                logger='current',
                level=logging.WARNING)
            return candidate
        skipped.append(f'{candidate} {reason}')
        print_log(
            f'Skipping {candidate}: it {reason}.',
            logger='current',
            level=logging.WARNING)
    raise RuntimeError(
        f'Cannot resume from {work_dir}: {why}, and no checkpoint there '
        'loads:\n  ' + '\n  '.join(skipped) +
        '\nPass --resume PATH (resume=PATH) with a good checkpoint, or use '
        'another --work-dir to start afresh.')


def remove_stale_tmp_files(folder: str) -> List[str]:
    """Remove the temporary files killed atomic writes left in ``folder``.

    Only the top level of ``folder`` is searched, for hidden
    ``.<name>.XXXXXXXX.tmp`` files (as
    :class:`mmderain.utils.AtomicLocalBackend` names them). Call it when no
    write to ``folder`` is under way. Each removal is logged.

    Args:
        folder (str): The folder, e.g. a work dir.

    Returns:
        list[str]: The removed files.
    """
    if not osp.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        path = osp.join(folder, name)
        if not TMP_NAME.match(name) or not osp.isfile(path):
            continue
        try:
            os.remove(path)
        except FileNotFoundError:  # another process removed it
            continue
        removed.append(path)
        print_log(
            f'Removed {path}, left by an interrupted checkpoint write.',
            logger='current',
            level=logging.WARNING)
    return removed
