# Copyright (c) mmderain contributors. All rights reserved.
"""The Rain2Avoid configs encode the official recipes (ytpeng-aimlab
Rain2Avoid: ``(Multiple)/sdrl_all.py``/``train_all.py``, ``(Single)/
sdrl.py``, ``generateSDR_multiple.py``)."""
import pytest

from tests._helpers import build_model, load_config, num_params

TRANSDUCTIVE = 'sdrl-unet_transductive_b64-p64-4k_rain100l'
PER_IMAGE = 'sdrl-unet_per-image_100e_rain100l'


def _types(pipeline):
    return [t['type'] for t in pipeline]


def _model_recipe(cfg):
    assert cfg.model.generator.type == 'R2AUNet'
    assert cfg.model.pad_multiple == 16  # the UNet needs multiples of 16
    loss = cfg.model.pixel_loss
    assert (loss.type, loss.reduction, loss.loss_weight) == ('MSELoss', 'mean',
                                                             1.0)
    assert cfg.model.test_cfg.quantize == 'trunc'  # plt.imsave: uint8(255x)
    optim = cfg.optim_wrapper.optimizer
    assert (optim.type, optim.lr) == ('Adam', 1e-3)  # default betas
    assert set(optim) == {'type', 'lr'}
    assert cfg.param_scheduler == []  # the MultiStepLR is never stepped


def test_transductive_recipe():
    cfg = load_config('rain2avoid', TRANSDUCTIVE)
    _model_recipe(cfg)
    loader = cfg.train_dataloader
    assert loader.batch_size == 64
    assert loader.sampler.shuffle is False  # the official loader's order
    dataset = loader.dataset
    assert (dataset.type, dataset.num_sdrs) == ('SDRDataset', 50)
    pipeline = dataset.pipeline
    assert _types(pipeline) == [
        'LoadImageFromFile', 'PickSDR', 'LoadImageFromFile',
        'PairedRandomCrop', 'Flip', 'PackInputs'
    ]
    assert pipeline[3].patch_size == 64
    assert pipeline[0].cache_decoded and pipeline[2].cache_decoded
    flip = pipeline[4]
    assert flip['keys'] == ['img', 'gt']
    assert (flip.flip_ratio, flip.direction) == (0.5, 'horizontal')
    # 2,000 epochs of ceil(100 / 64) = 2 iterations
    assert cfg.train_cfg.max_iters == 2000 * 2
    assert cfg.randomness.seed == 10
    # eval mode; test_all.py's batch statistics are a switch (README)
    assert cfg.model.test_cfg.get('norm_stats', 'running') == 'running'


def test_per_image_recipe():
    cfg = load_config('rain2avoid', PER_IMAGE)
    _model_recipe(cfg)
    loop = cfg.train_cfg
    assert loop.type == 'PerImageTrainLoop'
    assert (loop.epochs, loop.order) == (100, 'lexicographic')
    assert cfg.train_dataloader.dataset.num_sdrs == 50  # 5,000 steps
    assert _types(cfg.train_dataloader.dataset.pipeline)[:2] == [
        'LoadImageFromFile', 'LoadSDRs'
    ]
    assert cfg.randomness.seed == 3  # torch.manual_seed(3)
    assert cfg.model.test_cfg.get('norm_stats', 'running') == 'running'


def test_online_recipe():
    cfg = load_config('rain2avoid', 'sdrl-unet_per-image-online_100s_rain100l')
    gen, = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'GenerateSDRs'
    ]
    assert (gen.num, gen.eta, gen.pick) == (50, 1.0, 'all')
    # 100 steps in all, step t on SDR t mod 50
    assert (cfg.train_cfg.epochs, cfg.train_cfg.order) == (2, 'numeric')


@pytest.mark.parametrize(
    'backbone, count, multiple',
    [
        ('unet', 4_539_988, 16),
        ('resnet', 13_998_147, 32),  # torchvision's unused fc dropped
        ('dncnn', 558_336, 1),
        ('restormer', 26_126_644, 8),
    ])
def test_backbones(backbone, count, multiple):
    cfg = load_config('rain2avoid', f'sdrl-{backbone}_per-image_100e_rain100l')
    model = build_model(cfg)
    assert num_params(model.generator) == count
    assert model.pad_multiple == multiple
