# Copyright (c) mmderain contributors. All rights reserved.
"""Overrides of unknown top-level config keys are warned about."""
import logging
import warnings

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmderain.apis.runner import load_config
from mmderain.utils.config import check_cfg_options


def _cfg():
    return Config(
        dict(
            model=dict(type='X'),
            optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
            train_cfg=dict(max_iters=10)))


def test_misspelt_top_level_key_is_warned_about():
    with pytest.warns(UserWarning) as record:
        unknown = check_cfg_options(_cfg(), {
            'optim_wraper.optimizer.lr': 1e-4,
            'train_cfg.max_iters': 5
        })
    assert unknown == ['optim_wraper.optimizer.lr']
    message, = [str(w.message) for w in record]
    assert "'optim_wraper.optimizer.lr'" in message
    assert "did you mean 'optim_wrapper'" in message


def test_known_keys_pass_silently():
    options = {
        'train_cfg.max_iters': 5,  # in the config
        'model.generator.stages': 2,  # new keys below the top level
        'work_dir': 'w',  # read by the Runner, set by no config
        'val_dataloader.batch_size': 1,
        'model_wrapper_cfg.find_unused_parameters': True,
    }
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert check_cfg_options(_cfg(), options) == []
        assert check_cfg_options(_cfg(), None) == []


def test_unknown_key_without_a_close_match_lists_the_config_keys():
    expected = 'the config has: model, optim_wrapper, train_cfg'
    with pytest.warns(UserWarning, match=expected):
        check_cfg_options(_cfg(), {'zzz': 1})


class _Records(logging.Handler):
    """Keeps the records it handles."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_load_config_warns_and_logs(tmp_path):
    path = tmp_path / 'cfg.py'
    _cfg().dump(str(path))
    logger = MMLogger.get_current_instance()
    handler = _Records()
    logger.addHandler(handler)
    try:
        with pytest.warns(UserWarning, match='optim_wraper'):
            cfg = load_config(
                str(path), {'optim_wraper.optimizer.lr': 1e-4},
                work_dir=str(tmp_path / 'work'))
    finally:
        logger.removeHandler(handler)
    assert [
        r.levelno for r in handler.records if 'optim_wraper' in r.getMessage()
    ] == [logging.WARNING]
    # the override is still merged, as MMEngine does
    assert cfg.optim_wraper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.lr == 1e-3


def test_init_derainer_warns_about_a_misspelt_key(tmp_path):
    from mmengine.config import Config

    from mmderain.apis import init_derainer
    from tests._helpers import tiny_prenet_cfg
    cfg = Config(tiny_prenet_cfg(str(tmp_path), str(tmp_path)))
    with pytest.warns(UserWarning, match="'modle.generator.num_stages'"):
        init_derainer(cfg, cfg_options={'modle.generator.num_stages': 3})
