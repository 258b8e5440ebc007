# SSID-KD teacher on Rain1200 (DID-MDN, 12,000 side-by-side pairs; official
# train_Rain1200.py): 800 "epochs" of 1,000 iterations at batch 12, lr 7e-5
# (not 5e-4) x0.1 at 480,000 and 640,000.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd.py',
    '../_base_/datasets/did_mdn_train.py',
    '../_base_/datasets/did_mdn_test.py',
    '../_base_/schedules/ssidkd_teacher.py',
]

train_dataloader = dict(
    batch_size=12,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        times=1,
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='SplitSideBySide'),
            dict(type='PairedRandomCrop', patch_size=120),
            dict(type='PackInputs'),
        ])))
optim_wrapper = dict(optimizer=dict(lr=7e-5))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[480_000, 640_000],
        gamma=0.1)
]
train_cfg = dict(max_iters=800_000, val_interval=50_000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=50_000))
log_processor = dict(by_epoch=False)
randomness = dict(seed=66)
