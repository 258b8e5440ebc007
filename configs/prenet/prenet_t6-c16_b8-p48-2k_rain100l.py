# A small PReNet for the embedded demo, trainable on a 2-core CPU in about
# 45 minutes: 16 feature channels instead of 32, batches of 8 patches of
# 48x48, 2,000 iterations (the official recipe: 33,400 iterations of 18
# patches of 100x100 with 32 channels).
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
    dataset=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=48),
            dict(
                type='Flip',
                keys=['img', 'gt'],
                flip_ratio=0.5,
                direction='horizontal'),
            dict(type='PackInputs'),
        ])))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3))
# No T_max and no end: the Runner ends the cosine at train_cfg.max_iters, so
# `--cfg-options train_cfg.max_iters=N` alone rescales the whole schedule.
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, eta_min=1e-5)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=2000)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=False, interval=500, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
