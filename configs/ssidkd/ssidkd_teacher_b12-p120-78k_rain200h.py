# SSID-KD teacher on Rain200H (1,800 pairs; official train_Rain200H.py):
# 520 "epochs" of 150 iterations = 78,000 at batch 12, lr 5e-4 halved ONCE,
# at 46,800 (l2 is commented out there, unlike the README's [312, 416]).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd.py',
    '../_base_/datasets/rain200h_train.py',
    '../_base_/datasets/rain200h_test.py',
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
    dict(type='MultiStepLR', by_epoch=False, milestones=[46_800], gamma=0.5)
]
train_cfg = dict(max_iters=78_000, val_interval=7_800)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=7_800))
log_processor = dict(by_epoch=False)
randomness = dict(seed=66)  # official torch.manual_seed(66)
