# Rain100H training split (RainTrainH): 1,800 pairs rain/norain-N.png, 481x321.
train_data_root = 'data/rain100h/train'
train_patch_size = 100

train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='PairedRandomCrop', patch_size=train_patch_size),
    dict(
        type='Flip',
        keys=['img', 'gt'],
        flip_ratio=0.5,
        direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=18,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        # one epoch = 3 random patches per image, about the fixed
        # 100x100 patches (stride 80) of the official PReNet recipe
        type='RepeatDataset',
        times=3,
        dataset=dict(
            type='PairedImageDataset',
            data_root=train_data_root,
            data_prefix=dict(img='rain', gt='norain'),
            pipeline=train_pipeline)))
