# A small SSID-KD teacher for CPU learning evidence (see README.md): the
# network with channels (12, 16, 24) and units (4, 2, 1) instead of
# (24, 32, 48) and (10, 4, 2) (1,048,419 parameters instead of 4,433,779),
# -SSIM on batches of 4 random 64x64 crops of Rain100L train, 1,000
# iterations, Adam 5e-4 halved at 3/5 and 4/5 (the official shape).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd.py',
    '../_base_/datasets/rain100l_train.py',
    '../_base_/datasets/rain100l_test.py',
    '../_base_/schedules/ssidkd_teacher.py',
]

model = dict(generator=dict(channels=(12, 16, 24), num_units=(4, 2, 1)))

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        times=1,
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=64),
            dict(type='PackInputs'),
        ])))
# MATLAB-style Y PSNR/SSIM, and PSNR/SSIM over RGB (as the official scripts)
test_evaluator = [
    dict(type='MatlabPSNR'),
    dict(type='MatlabSSIM'),
    dict(type='MatlabPSNR', convert_to=None, prefix='RGB'),
    dict(type='MatlabSSIM', convert_to=None, prefix='RGB'),
]
val_evaluator = test_evaluator
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[600, 800], gamma=0.5)
]
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=150, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
randomness = dict(seed=66)
