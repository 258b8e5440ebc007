# Copyright (c) mmderain contributors. All rights reserved.
"""Safe outputs of the LMDB packer: markers, leftovers, atomic replace.

Used by :mod:`mmderain.datasets.lmdb.packing` for one database
(``pack_lmdb``) and for a folder of databases (``pack_dataset``); nothing
that reads LMDB imports it.

A pack is atomic: its marker file (``"complete": false``) is written first
into ``<out>.tmp-<pid>``, then the data and the final marker; the folder is
then put at ``out`` with an atomic exchange (``renameat2(RENAME_EXCHANGE)``
on Linux; elsewhere two renames, undone if the second fails). On any error
the temporary folder is removed. An existing ``out`` is only replaced when
it is an earlier pack (its marker and no other entry) and never when it
holds source images. Leftovers of killed runs (``<out>.tmp-<pid>``/
``.old-<pid>`` of processes that no longer run) are removed, or restored
when ``out`` is missing, by the next pack; folders that are not ours are
reported and left.
"""
import ctypes
import errno
import json
import os
import os.path as osp
import re
import shutil
import sys
import warnings
from typing import Callable, Iterable, Optional

from mmderain.utils.path import short_listing


def write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` as JSON and flush it to disk."""
    with open(path, 'w') as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())


def foreign_reason(path: str,
                   marker: str,
                   allowed: Iterable[str],
                   legacy: bool = False) -> Optional[str]:
    """Why the existing ``path`` must not be replaced by a pack (or None).

    A folder may be replaced when it is empty, or when it holds ``marker``
    (or ``legacy`` is True: an older pack recognised by the caller) and
    no entry outside ``allowed``, so nothing a user wrote is lost.

    Args:
        path (str): The existing output.
        marker (str): File name that marks a folder written by the packer.
        allowed (Iterable[str]): Entry names the packer writes.
        legacy (bool): Accept the folder without ``marker``. Defaults to
            False.

    Returns:
        str | None: The reason, or None when ``path`` may be replaced.
    """
    if osp.islink(path):
        return 'it is a symbolic link, not a folder written by pack_lmdb'
    if not osp.isdir(path):
        return 'it is a file, not a folder written by pack_lmdb'
    names = set(os.listdir(path))
    if not names:
        return None
    if marker not in names and not legacy:
        return (f'it has no {marker}, so it is not a folder written by '
                'pack_lmdb')
    extra = sorted(names - set(allowed))
    if extra:
        return ('it holds entries pack_lmdb did not write: ' +
                short_listing(extra))
    return None


def check_outside_sources(out: str, paths: Iterable[str]) -> None:
    """Refuse an output folder that equals or contains a source folder.

    Compared on resolved real paths, before anything is written.

    Args:
        out (str): The output folder.
        paths (Iterable[str]): Source files.

    Raises:
        ValueError: If a source file lies in ``out`` or below it.
    """
    real_out = osp.realpath(out)
    dirs = {osp.dirname(osp.abspath(str(p))) for p in paths}
    below = real_out.rstrip(os.sep) + os.sep
    inside = sorted(
        d for d in dirs
        if osp.realpath(d) == real_out or osp.realpath(d).startswith(below))
    if inside:
        raise ValueError(
            f'Refusing to pack into {out}: it holds source images (in '
            f'{short_listing(inside)}), which replacing it would delete. '
            'Choose an output folder outside the source folders.')


def _owner_running(pid: int) -> bool:
    """Whether process ``pid`` (another than this one) still runs."""
    if pid == os.getpid():
        return False  # an earlier call of this process left it
    if os.name != 'posix':
        return True  # cannot tell: never touch it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs under another user
        return True
    return True


def clean_stale(path: str, marker: str,
                foreign: Callable[[str], Optional[str]]) -> None:
    """Restore or remove what killed runs left next to ``path``.

    ``<path>.old-<pid>`` and ``<path>.tmp-<pid>`` of processes that no
    longer run: when ``path`` is missing, the newest complete ``.old`` is
    renamed back to ``path`` (a run died between its two renames); other
    leftovers holding ``marker`` (``.tmp``) or passing ``foreign`` are
    removed; anything else is reported with a warning and left.

    Args:
        path (str): The output folder.
        marker (str): File name the packer writes first into ``.tmp``.
        foreign (Callable): :func:`foreign_reason` for a complete output.
    """
    parent, base = osp.split(path)
    if not osp.isdir(parent):
        return
    pattern = re.compile(re.escape(base) + r'\.(tmp|old)-(\d+)')
    stale = []
    for name in os.listdir(parent):
        match = pattern.fullmatch(name)
        if match and not _owner_running(int(match.group(2))):
            sib = osp.join(parent, name)
            stale.append((match.group(1), -osp.getmtime(sib), sib))
    for kind, _, sib in sorted(stale):  # '.old' first, newest first
        ours = foreign(sib) is None
        if kind == 'old' and ours and not osp.lexists(path):
            os.rename(sib, path)
            print(f'Restored {path} from {sib} (a run was killed while '
                  'replacing it)')
        elif ours or (kind == 'tmp' and osp.isfile(osp.join(sib, marker))):
            shutil.rmtree(sib)
            print(f'Removed {sib} (left by a killed run)')
        else:
            warnings.warn(f'{sib} looks like a leftover of a killed pack '
                          f'run but is not ours ({foreign(sib)}); it is '
                          'left as is: check and remove it yourself')


def check_replaceable(path: str, overwrite: bool,
                      foreign: Callable[[str], Optional[str]]) -> None:
    """Refuse an existing output that is not ours or without overwrite.

    Args:
        path (str): The output folder.
        overwrite (bool): Whether the caller asked to replace it.
        foreign (Callable): :func:`foreign_reason` for the output.

    Raises:
        FileExistsError: If ``path`` exists and may not be replaced.
    """
    if not osp.lexists(path):
        return
    reason = foreign(path)
    if reason is not None:
        raise FileExistsError(
            f'Refusing to replace {path}: {reason}. --overwrite only '
            'replaces an earlier pack; choose another output or move the '
            'folder away yourself.')
    if not overwrite:
        raise FileExistsError(
            f'{path} already exists; pass overwrite=True (CLI: '
            '--overwrite) to replace it')


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2 = []  # [function or None], looked up once


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
        bool: False when the system or file system cannot exchange.
    """
    if not sys.platform.startswith('linux'):
        return False
    if not _renameat2:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
            fn.argtypes = [
                ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                ctypes.c_uint
            ]
            fn.restype = ctypes.c_int
        except (AttributeError, OSError):  # glibc < 2.28, musl, ...
            fn = None
        _renameat2.append(fn)
    fn = _renameat2[0]
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
          _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), a, None, b)


def replace_folder(new: str, dest: str) -> None:
    """Put the complete folder ``new`` at ``dest``, replacing it.

    With an atomic exchange ``dest`` always holds the old or the new
    folder. Without one, ``dest`` is renamed to ``<dest>.old-<pid>`` and
    back if the second rename fails; a run killed between the two renames
    leaves the old folder as ``.old-<pid>``, which :func:`clean_stale`
    restores.

    Args:
        new (str): The finished folder.
        dest (str): Where it goes.
    """
    if not osp.lexists(dest):
        os.rename(new, dest)
    elif _exchange(new, dest):
        shutil.rmtree(new)  # now the old folder
    else:
        old = f'{dest}.old-{os.getpid()}'
        os.rename(dest, old)
        try:
            os.rename(new, dest)
        except BaseException:
            os.rename(old, dest)
            raise
        shutil.rmtree(old)
