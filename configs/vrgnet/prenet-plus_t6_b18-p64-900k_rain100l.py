# "PReNet+" (VRGNet's augmented training, official train_syn_aug.py): the
# PReNet config plus the rain-augmentation fragment, with the official A+
# recipe: batches of 18 64x64 patches (12 real + 6 generated), negative
# SSIM, Adam lr 1e-3, 200 epochs of 4,500 iterations, lr x0.2 at epochs
# 50/100/150.
_base_ = [
    '../prenet/prenet_t6_b18-p100-100e_rain100l.py',
    '../_base_/augment/vrgnet_rain100l.py',
]

train_dataloader = dict(
    batch_size=18,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=64),
            dict(type='PackInputs'),
        ])))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[e * 4500 for e in (50, 100, 150)],
        gamma=0.2)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=200 * 4500,
    val_interval=45_000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=45_000))
log_processor = dict(by_epoch=False)
