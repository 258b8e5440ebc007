# Copyright (c) mmderain contributors. All rights reserved.
"""The example method of docs/adding_a_method.md: a derainer trained with a
pixel loss and a patch critic (two networks, two optimisers).

Configs import it with ``custom_imports``; importing registers the models in
the ``mmderain`` scope.
"""
from .gan_derainer import ExampleGANDerainer
from .patch_critic import ExamplePatchCritic

__all__ = ['ExampleGANDerainer', 'ExamplePatchCritic']
