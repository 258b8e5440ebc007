# A small DLINet for CPU learning evidence (see README.md): K=4 masks,
# N=5 streak blocks, 16 channels, batches of 8 patches of 64x64, 2,000
# iterations (the official recipe: K=10, N=15, 32 channels, 300 epochs).
_base_ = ['./dlinet_stage1_b20-p100-300e_rain100l.py']

model = dict(generator=dict(num_masks=4, num_msa_blocks=5, mid_channels=16))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=64),
            dict(
                type='Flip',
                keys=['img', 'gt'],
                flip_ratio=0.5,
                direction='horizontal'),
            dict(type='PackInputs'),
        ])))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    # ends at train_cfg.max_iters (no T_max: the Runner sets the end)
    dict(type='CosineAnnealingLR', by_epoch=False, eta_min=1e-5)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=2000,
    val_interval=2000)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
