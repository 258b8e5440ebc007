# Copyright (c) mmderain contributors. All rights reserved.
"""Registries of the ``mmderain`` scope.

Every registry is a child of the matching mmagic registry (which itself is a
child of MMEngine's root registry), so a config with
``default_scope='mmderain'`` resolves names child-first: mmderain components
first, then mmagic's, then MMEngine's. Components of a parent scope can always
be named explicitly, e.g. ``type='mmagic.PSNR'``.

``locations`` make the scope self-registering: when a registry of this scope is
used for building, the listed modules are imported first, so users never need
``custom_imports`` for built-in mmderain components.
"""
from mmagic import registry as mmagic_registry
from mmengine import registry as mmengine_registry
from mmengine.registry import Registry

__all__ = [
    'DATA_SAMPLERS', 'DATASETS', 'EVALUATOR', 'FUNCTIONS', 'HOOKS',
    'LOG_PROCESSORS', 'LOOPS', 'METRICS', 'MODEL_WRAPPERS', 'MODELS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS', 'OPTIMIZERS',
    'PARAM_SCHEDULERS', 'RUNNER_CONSTRUCTORS', 'RUNNERS', 'TASK_UTILS',
    'TRANSFORMS', 'VISBACKENDS', 'VISUALIZERS', 'WEIGHT_INITIALIZERS'
]

_SCOPE = 'mmderain'


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    """Create a registry of scope ``mmderain`` below ``parent``."""
    return Registry(
        name, parent=parent, scope=_SCOPE, locations=list(locations))


# runtime
RUNNERS = _child('runner', mmagic_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             mmagic_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', mmagic_registry.LOOPS, 'mmderain.engine')
HOOKS = _child('hook', mmagic_registry.HOOKS, 'mmderain.engine')
LOG_PROCESSORS = _child('log processor', mmagic_registry.LOG_PROCESSORS)
# mmagic has no function registry: chain to MMEngine's directly
FUNCTIONS = _child('function', mmengine_registry.FUNCTIONS)

# data
DATASETS = _child('dataset', mmagic_registry.DATASETS, 'mmderain.datasets')
DATA_SAMPLERS = _child('data sampler', mmagic_registry.DATA_SAMPLERS,
                       'mmderain.datasets')
TRANSFORMS = _child('transform', mmagic_registry.TRANSFORMS,
                    'mmderain.datasets.transforms')

# models
MODELS = _child('model', mmagic_registry.MODELS, 'mmderain.models')
MODEL_WRAPPERS = _child('model_wrapper', mmagic_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmagic_registry.WEIGHT_INITIALIZERS)
TASK_UTILS = _child('task util', mmagic_registry.TASK_UTILS)

# optimisation
OPTIMIZERS = _child('optimizer', mmagic_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', mmagic_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    mmagic_registry.OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmderain.engine')
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmagic_registry.PARAM_SCHEDULERS)

# evaluation and visualisation
METRICS = _child('metric', mmagic_registry.METRICS, 'mmderain.evaluation')
EVALUATOR = _child('evaluator', mmagic_registry.EVALUATORS,
                   'mmderain.evaluation')
VISUALIZERS = _child('visualizer', mmagic_registry.VISUALIZERS)
VISBACKENDS = _child('vis_backend', mmagic_registry.VISBACKENDS)
