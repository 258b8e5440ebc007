# A small PReNet for the embedded demo, trainable on a laptop CPU: 16 feature
# channels instead of 32, batches of 8 patches of 64x64, 4,000 iterations
# (about 1/8 of the official recipe's samples, at 1/16 of the network cost).
# The resulting checkpoint (checkpoints/prenet_t6-c16_rain100l_demo.pth) ships
# with the repository; see configs/prenet/README.md for its numbers.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/prenet.py',
    '../_base_/datasets/rain100l_train.py',
    '../_base_/datasets/rain100l_test.py',
]

model = dict(
    generator=dict(mid_channels=16),
    # a correctly rounded 8-bit output, like tools/derain.py writes
    test_cfg=dict(quantize='round'))

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(dataset=dict(pipeline=[
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

optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        T_max=4000,
        eta_min=1e-5)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4000, val_interval=4000)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
