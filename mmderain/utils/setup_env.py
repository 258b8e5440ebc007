# Copyright (c) mmderain contributors. All rights reserved.
"""Registration of every mmderain module into the ``mmderain`` scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmderain (and mmagic) module so that it is registered.

    It also applies the checkpoint fixes of :mod:`mmderain.utils.checkpoint`
    and :mod:`mmderain.utils.safe_loading`: every checkpoint MMEngine reads
    (local or URL) loads with ``weights_only=True`` (MMEngine's training
    state allow-listed, so resume works) and local checkpoint writes are
    atomic.

    Args:
        init_default_scope (bool): Whether to set ``mmderain`` as the current
            default scope, so that registries resolve names in mmderain
            first. Defaults to True.
    """
    # mmagic's components (visualisers, transforms, metrics, ...) are reached
    # through the parent registries, which do not import lazily on lookup
    from .imports import quiet_mmagic_import
    with quiet_mmagic_import():
        from mmagic.utils import register_all_modules as register_mmagic
        register_mmagic(init_default_scope=False)

    import mmderain.datasets  # noqa: F401,F403
    import mmderain.engine  # noqa: F401,F403
    import mmderain.evaluation  # noqa: F401,F403
    import mmderain.models  # noqa: F401,F403
    from .checkpoint import (allow_mmengine_checkpoint_globals,
                             use_atomic_local_backend)
    from .safe_loading import use_safe_checkpoint_loaders
    allow_mmengine_checkpoint_globals()
    use_atomic_local_backend()
    use_safe_checkpoint_loaders()

    if not init_default_scope:
        return
    never_created = (
        DefaultScope.get_current_instance() is None
        or not DefaultScope.check_instance_created('mmderain'))
    if never_created:
        DefaultScope.get_instance('mmderain', scope_name='mmderain')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmderain':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmderain", '
                      '`register_all_modules` will force the current '
                      'default scope to be "mmderain". If this is not '
                      'expected, please set `init_default_scope=False`.')
        # avoid name conflict
        new_instance_name = f'mmderain-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmderain')
