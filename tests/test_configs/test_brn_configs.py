# Copyright (c) mmderain contributors. All rights reserved.
"""The BRN configs encode the official recipe (csdwren/RecDerain
``train.py``)."""
import pytest

from tests._helpers import build_model, load_config, num_params

# dataset: (Adam lr: the official note "1e-3 L, 5e-4 H", horizontal flips
# in the official data preparation)
FULL = {'rain100l': (1e-3, True), 'rain100h': (5e-4, False)}


@pytest.mark.parametrize('dataset', sorted(FULL))
def test_official_recipe(dataset):
    lr, flips = FULL[dataset]
    cfg = load_config('brn', f'brn_t8_b12-p100-100e_{dataset}')
    gen = cfg.model.generator
    assert (gen.type, gen.num_iters, gen.mid_channels) == ('BRN', 8, 32)
    assert cfg.model.pixel_loss.type == 'SSIMLoss'  # -SSIM of the output
    # the official test script saves uint8(255 * clamp(out, 0, 1))
    assert cfg.model.test_cfg.quantize == 'trunc'
    loader = cfg.train_dataloader
    assert loader.batch_size == 12
    types = [t.type for t in loader.dataset.dataset.pipeline]
    crop = loader.dataset.dataset.pipeline[types.index('PairedRandomCrop')]
    assert crop.patch_size == 100
    assert ('Flip' in types) == flips
    assert dataset in loader.dataset.dataset.data_root
    assert dataset in cfg.test_dataloader.dataset.data_root
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=lr)
    sched, = cfg.param_scheduler
    assert (sched.type, sched.by_epoch, sched.milestones,
            sched.gamma) == ('MultiStepLR', True, [30, 50, 80], 0.2)
    assert cfg.train_cfg.max_epochs == 100
    # the official BRN (CoIC's released BRN baseline holds as many)
    assert num_params(build_model(cfg).generator) == 375_526


def test_rain100l_epoch_is_the_official_patch_set():
    """200 pairs x 24 random crops = the 4,800 fixed patches (12 per image
    at stride 100, each also flipped) of the official preparation."""
    cfg = load_config('brn', 'brn_t8_b12-p100-100e_rain100l')
    assert 200 * cfg.train_dataloader.dataset.times == 4_800
