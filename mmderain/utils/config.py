# Copyright (c) mmderain contributors. All rights reserved.
"""Checks of config overrides (``--cfg-options``)."""
import difflib
import inspect
import logging
import warnings
from typing import List, Mapping, Optional, Set

from mmengine.logging import print_log

#: Top-level settings MMEngine's Runner and mmderain's tools read from a
#: config although no shipped config sets them (``Runner.from_cfg`` and
#: ``Runner.__init__`` arguments are added by :func:`known_top_level_keys`).
EXTRA_TOP_LEVEL_KEYS = ('model_wrapper_cfg', 'find_unused_parameters',
                        'sync_bn', 'compile', 'activation_checkpointing',
                        'efficient_conv_bn_eval', 'load_from_allow_missing')


def known_top_level_keys(cfg: Mapping) -> Set[str]:
    """Top-level keys an override may set without a warning.

    Args:
        cfg (Mapping): The loaded config.

    Returns:
        set[str]: The keys of ``cfg``, the arguments of MMEngine's
        ``Runner`` and :data:`EXTRA_TOP_LEVEL_KEYS`.
    """
    from mmengine.runner import Runner
    keys = set(cfg.keys()) | set(EXTRA_TOP_LEVEL_KEYS)
    keys |= {
        name
        for name in inspect.signature(Runner.__init__).parameters
        if name != 'self'
    }
    return keys


def check_cfg_options(cfg: Mapping,
                      options: Optional[Mapping[str, object]],
                      source: str = '--cfg-options') -> List[str]:
    """Warn about overrides whose top-level key no config setting has.

    ``Config.merge_from_dict`` adds any key it is given, so a misspelt
    ``optim_wraper.optimizer.lr=1e-3`` silently creates a setting nothing
    reads. Call this before merging: every dotted key whose first component
    is neither a key of ``cfg`` nor a setting MMEngine's Runner reads (see
    :func:`known_top_level_keys`) is warned about, with the closest existing
    keys, through ``print_log`` (level WARNING) and ``warnings.warn``. Keys
    below the top level are not checked: many config dicts (model, dataset,
    pipeline arguments) take keys their config does not set.

    Args:
        cfg (Mapping): The loaded config (an :obj:`mmengine.Config`).
        options (Mapping[str, object], optional): The overrides, in
            ``Config.merge_from_dict`` form (``{'a.b.c': value}``).
        source (str): Where the overrides come from, for the message.
            Defaults to ``'--cfg-options'``.

    Returns:
        list[str]: The override keys whose top-level key is unknown, in the
        given order (empty if all are known).
    """
    if not options:
        return []
    known = known_top_level_keys(cfg)
    unknown = []
    for key in options:
        top = str(key).split('.', 1)[0]
        if top in known:
            continue
        unknown.append(key)
        close = difflib.get_close_matches(top, sorted(known), n=3, cutoff=0.6)
        hint = (f'; did you mean {" or ".join(repr(c) for c in close)}?'
                if close else f'; the config has: {", ".join(sorted(cfg))}')
        message = (f'{source} key {key!r}: the config has no setting '
                   f'{top!r}, so this override is added but nothing reads '
                   f'it{hint}')
        print_log(message, logger='current', level=logging.WARNING)
        warnings.warn(message, UserWarning, stacklevel=2)
    return unknown
