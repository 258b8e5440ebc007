# A small BRN for CPU runs and smoke tests: 16 feature channels instead of
# 32, batches of 8 patches of 64x64, 1,000 iterations with a cosine lr from
# 2e-3 (the official recipe: 40,000 iterations of 12 patches of 100x100 with
# 32 channels, brn_t8_b12-p100-100e_rain100l.py).
_base_ = './brn_t8_b12-p100-100e_rain100l.py'

model = dict(
    generator=dict(mid_channels=16),
    # a correctly rounded 8-bit output, like tools/derain.py writes
    test_cfg=dict(quantize='round'))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        times=1,
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

optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    # ends at train_cfg.max_iters (no T_max: the Runner sets the end)
    dict(type='CosineAnnealingLR', by_epoch=False, eta_min=1e-5)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=1000,
    val_interval=1000)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
