# The "A" side of a short CPU comparison of PReNet vs PReNet+ (VRGNet rain
# augmentation, see prenet-plus_t6-c16_b8-p64-1k_rain100l.py): a small
# PReNet (16 channels) on batches of 8 64x64 patches for 1,000 iterations.
_base_ = ['../prenet/prenet_t6-c16_b8-p48-2k_rain100l.py']

train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=64),
            dict(type='PackInputs'),
        ])))
param_scheduler = [
    # ends at train_cfg.max_iters (no T_max: the Runner sets the end)
    dict(type='CosineAnnealingLR', by_epoch=False, eta_min=1e-5)
]
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000))
