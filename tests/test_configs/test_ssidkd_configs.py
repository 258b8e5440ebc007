# Copyright (c) mmderain contributors. All rights reserved.
"""The SSID-KD configs encode the official recipe (spec §3.4-3.5)."""
import pytest

from tests._helpers import build_model, load_config, num_params

# dataset: (training pairs, lr, "epochs", gamma, milestones used, student
# batch, student "epochs"); official settings_<D>.py and train_<D>.py
OFFICIAL = {
    'rain200h': (1800, 5e-4, 520, 0.5, 1, 2, 10),  # l2 commented out
    'rain200l': (1800, 5e-4, 520, 0.5, 2, 2, 10),
    'rain1200': (12000, 7e-5, 800, 0.1, 2, 4, 20),
    'rain1400': (12600, 5e-4, 800, 0.1, 2, 2, 20),
}


def _name(kind, dataset):
    n, _, epochs, _, _, batch, s_epochs = OFFICIAL[dataset]
    if kind == 'teacher':
        return (f'ssidkd_teacher_b12-p120-{epochs * n // 12 // 1000}k_'
                f'{dataset}')
    return (f'ssidkd_{kind}_b{batch}-p128-{s_epochs * n // batch // 1000}k_'
            f'{dataset}-real')


@pytest.mark.parametrize('dataset', sorted(OFFICIAL))
def test_teacher_recipe(dataset):
    n, lr, epochs, gamma, num_milestones, _, _ = OFFICIAL[dataset]
    cfg = load_config('ssidkd', _name('teacher', dataset))
    total = epochs * n // 12
    assert cfg.model.type == 'SSIDKDDerainer'
    assert 'kd_mode' not in cfg.model
    assert cfg.model.pixel_loss.type == 'SSIMLoss'  # -SSIM
    assert cfg.train_dataloader.batch_size == 12
    pipeline = cfg.train_dataloader.dataset.dataset.pipeline
    crop, = [t for t in pipeline if t.type == 'PairedRandomCrop']
    assert crop.patch_size == 120
    assert not any(t.type == 'Flip' for t in pipeline)  # aug_data = False
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=lr)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_cfg.max_iters == total
    sched, = cfg.param_scheduler
    assert (sched.type, sched.by_epoch, sched.gamma) == ('MultiStepLR', False,
                                                         gamma)
    assert sched.milestones == [total * 3 // 5,
                                total * 4 // 5][:num_milestones]
    assert cfg.randomness.seed == 66


@pytest.mark.parametrize('dataset', sorted(OFFICIAL))
def test_student_recipe(dataset):
    n, _, _, _, _, batch, epochs = OFFICIAL[dataset]
    cfg = load_config('ssidkd', _name('student', dataset))
    model = cfg.model
    assert model.kd_mode == 'official'
    assert (model.pixel_loss.type, model.pixel_loss.loss_weight) == ('L1Loss',
                                                                     20.0)
    dc, tv = model.prior_losses
    assert (dc.type, dc.mode, dc.patch_size,
            dc.loss_weight) == ('DarkChannelLoss', 'official', 128, 1e-6)
    assert (tv.type, tv.loss_weight) == ('TVLoss', 1e-6)
    assert (model.code_loss.type, model.code_loss.reduction,
            model.code_loss.loss_weight) == ('SoftmaxKLLoss', 'mean', 1e-6)
    loader = cfg.train_dataloader
    assert loader.batch_size == batch
    assert loader.dataset.type == 'PairedUnpairedDataset'
    for part in (loader.dataset.paired, loader.dataset.unpaired):
        crop = part.pipeline[-1]
        assert (crop.type, crop.patch_size) == ('PairedRandomCrop', 128)
    assert loader.dataset.unpaired.data_root == 'data/real_internet'
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-4)
    assert cfg.param_scheduler == []  # constant
    assert cfg.train_cfg.max_iters == epochs * n // batch
    hook, = cfg.custom_hooks
    assert hook.type == 'LoadStageCheckpointHook'
    assert (hook.teacher, hook.init_prefixes) == (False, ('', ))
    assert hook.checkpoint == f"work_dirs/{_name('teacher', dataset)}"


@pytest.mark.parametrize('dataset', ['rain200h', 'rain200l'])
def test_distilling_student_differs_only_in_the_code_term(dataset):
    official = load_config('ssidkd', _name('student', dataset))
    distill = load_config('ssidkd', _name('student-distill', dataset))
    assert distill.model.kd_mode == 'distill'
    assert distill.model.code_loss.reduction == 'position_mean'
    hook, = distill.custom_hooks
    assert hook.teacher is True
    assert hook.checkpoint == official.custom_hooks[0].checkpoint
    for key in ('pixel_loss', 'prior_losses', 'generator'):
        assert distill.model[key] == official.model[key]
    assert distill.train_dataloader == official.train_dataloader


def test_models_build_with_the_official_parameter_count():
    teacher = build_model(load_config('ssidkd', _name('teacher', 'rain200h')))
    assert num_params(teacher.generator) == 4_433_779
    student = build_model(
        load_config('ssidkd', _name('student-distill', 'rain200h')))
    assert num_params(student) == 4_433_779  # the teacher is frozen, aside
    assert num_params(student.teacher) == 4_433_779
