# Copyright (c) mmderain contributors. All rights reserved.
"""The DLINet configs encode the official recipe and hold the official
parameter counts."""
import pytest

from tests._helpers import build_model, load_config, num_params

# dataset: training pairs (None: SPA, iteration-based)
DATASETS = {'rain100l': 200, 'rain200h': 1800, 'rain200l': 1800, 'spa': None}
# official counts (K=10, N=15, 32 channels)
PARAMS = {1: 1_431_957, 2: 2_611_893}


def _stages(dataset):
    span = '300k' if DATASETS[dataset] is None else '300e'
    names = (f'dlinet_stage1_b20-p100-{span}_{dataset}',
             f'dlinet_stage2_b16-p100-{span}_{dataset}')
    return names, [load_config('dlinet', name) for name in names]


@pytest.mark.parametrize('dataset', sorted(DATASETS))
def test_official_recipe(dataset):
    n = DATASETS[dataset]
    (name1, _), (s1, s2) = _stages(dataset)
    for cfg, batch in ((s1, 20), (s2, 16)):
        gen = cfg.model.generator
        assert (gen.num_masks, gen.num_msa_blocks,
                gen.mid_channels) == (10, 15, 32)
        assert cfg.model.pixel_loss.type == 'MSELoss'  # `--loss 1*MSE`
        assert cfg.model.train_cfg.crop_multiple == 8  # 100 -> 96 crops
        loader = cfg.train_dataloader
        assert loader.batch_size == batch
        pipeline = loader.dataset.dataset.pipeline
        assert [t.type for t in pipeline][2:4] == ['PairedRandomCrop', 'Flip']
        assert pipeline[2].patch_size == 100
        assert pipeline[3].direction == 'horizontal'
        assert dataset in loader.dataset.dataset.data_root
        assert dataset in cfg.test_dataloader.dataset.data_root
        assert cfg.optim_wrapper.optimizer.lr == 2e-4
        sched, = cfg.param_scheduler
        assert sched.gamma == 0.5
        if n is None:  # SPA: 300k iterations over the whole set
            assert cfg.train_cfg.max_iters == 300_000
            assert sched.milestones == [100_000, 150_000, 200_000, 250_000]
            assert loader.dataset.times == 1
        else:
            assert cfg.train_cfg.max_epochs == 300
            assert sched.milestones == [100, 150, 200, 250]
            # official JORDER/EDSR epoch: repeat = 1000 // (n // batch)
            assert loader.dataset.times == 1000 // (n // batch)
    assert s1.model.generator.stage == 'first' and 'mask_loss' not in s1.model
    assert s2.model.generator.stage == 'second'
    assert (s2.model.mask_loss.type,
            s2.model.mask_loss.loss_weight) == ('BinaryCrossEntropyLoss', 1e4)
    # stage 2 starts from the last checkpoint of stage 1's default work dir
    hook, = s2.custom_hooks
    assert hook.init_prefixes == ('rain_estimate.', 'fusion.')
    last = ('iter_300000' if n is None else 'epoch_300')
    assert hook.checkpoint == f'work_dirs/{name1}/{last}.pth'


def test_official_parameter_counts():
    _, configs = _stages('rain100l')
    for stage, cfg in enumerate(configs, 1):
        model = build_model(cfg)
        assert num_params(model.generator) == PARAMS[stage]
        # stage 2 learns the masks of a frozen stage-1 teacher
        assert (model.teacher is not None) == (stage == 2)
