# SSID-KD teacher on Rain1400 (DDN, 12,600 pairs; official
# train_Rain1400.py): 800 "epochs" of 1,050 iterations at batch 12, lr 5e-4
# x0.1 at 504,000 and 672,000.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd.py',
    '../_base_/datasets/ddn_rain1400_train.py',
    '../_base_/datasets/ddn_rain1400_test.py',
    '../_base_/schedules/ssidkd_teacher.py',
]

train_dataloader = dict(
    batch_size=12,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        times=1,
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=120),
            dict(type='PackInputs'),
        ])))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[504_000, 672_000],
        gamma=0.1)
]
train_cfg = dict(max_iters=840_000, val_interval=52_500)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=52_500))
log_processor = dict(by_epoch=False)
randomness = dict(seed=66)
