# A backbone from mmagic in one config: mmagic's Restormer (its default,
# official size: 48 channels, blocks 4/6/6/8, 4 refinement blocks) as the
# generator of mmderain's BaseDerainer, L1 loss, AdamW with a cosine
# schedule, 128x128 crops of Rain13K, batches of 8, 300k iterations; tested
# on Rain100L. An example of docs/adding_a_method.md, not a reproduction
# (Restormer's official recipe grows the crops progressively): no numbers.
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/datasets/rain13k_train.py',
    '../../../configs/_base_/datasets/rain100l_test.py',
]

model = dict(
    type='BaseDerainer',
    # the parent scope, named explicitly: mmagic's registry builds it
    generator=dict(type='mmagic.Restormer'),
    pixel_loss=dict(type='mmagic.L1Loss'),
    # Restormer pads to a multiple of 8 itself; a backbone that does not
    # would set pad_multiple=8 here
    test_cfg=dict(quantize='round'))

train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=128),
            dict(
                type='Flip',
                keys=['img', 'gt'],
                flip_ratio=0.5,
                direction='horizontal'),
            dict(type='PackInputs'),
        ])))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=3e-4, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=False, eta_min=1e-6)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=300_000, val_interval=20_000)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=20_000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
