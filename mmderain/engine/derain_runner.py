# Copyright (c) mmderain contributors. All rights reserved.
"""MMEngine's Runner with safe, strict checkpoint loading."""
from typing import Callable, Union

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmderain.registry import RUNNERS
from mmderain.utils.safe_loading import (extract_state_dict,
                                         load_checkpoint_file,
                                         load_state_dict_strictly,
                                         training_only_prefixes)


@RUNNERS.register_module()
class DerainRunner(Runner):
    """``Runner`` whose checkpoints load weights only and strictly.

    MMEngine's runner loads ``load_from`` (and the weights of ``--resume``)
    with ``strict=False``: the weights of another architecture, or official
    weights that were never converted, leave a randomly initialised model
    that is trained or evaluated with only a warning. Here

    * every checkpoint is read by
      :func:`mmderain.utils.safe_loading.load_checkpoint_file`
      (``weights_only``, local files and URLs alike);
    * missing, unexpected or mis-shaped keys and non-finite tensors are a
      :class:`~mmderain.utils.safe_loading.CheckpointError` naming the file
      and the first offending keys;
    * an intended partial warm start is declared in the config:
      ``load_from_allow_missing = ('critic.', ...)`` lists the model key
      prefixes that ``load_from`` may lack (they keep their initialisation
      and are logged). It does not apply to resuming.
    """

    _resuming = False
    _for_inference = False

    def test(self) -> dict:
        """Test; a checkpoint may lack the networks inference does not use
        (the model's ``inference_prefixes``, e.g. VRGNet's rain generator
        and critic): those are reported, every other key loads strictly."""
        self._for_inference = True
        try:
            return super().test()
        finally:
            self._for_inference = False

    def resume(self, filename: str, *args, **kwargs) -> None:
        """Resume training state; the weights must match exactly."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = True,
                        revise_keys: list = None):
        """Load a checkpoint's weights into the model.

        Args:
            filename (str): Local path or ``http(s)://`` URL.
            map_location (str | Callable): As for ``torch.load``.
                Defaults to 'cpu'.
            strict (bool): Refuse missing, unexpected or mis-shaped keys.
                Defaults to True. With False, the keys that do match are
                loaded and the others are logged.
            revise_keys (list, optional): Not supported beyond MMEngine's
                default (a leading ``module.`` is removed); must be None.

        Returns:
            dict: The loaded checkpoint.
        """
        if revise_keys is not None:
            raise ValueError('DerainRunner.load_checkpoint removes a leading '
                             '"module." itself; revise_keys is not supported')
        checkpoint = load_checkpoint_file(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        state = extract_state_dict(checkpoint, filename)
        allow = () if self._resuming else tuple(
            self.cfg.get('load_from_allow_missing') or ())
        if self._for_inference and not self._resuming:
            allow += training_only_prefixes(model)
        if not strict:
            own = model.state_dict()
            allow = tuple(own)  # every model key may be missing
            ignored = [k for k in state if k not in own]
            state = {k: v for k, v in state.items() if k in own}
            if ignored:
                self.logger.warning(
                    f'{filename}: {len(ignored)} tensors not in the model '
                    f'ignored (non-strict load): {ignored[:5]}')
        load_state_dict_strictly(model, state, filename, allow, self.logger)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
