# Paired rain/clean training data: random aligned crops with flips.
# Dataset configs inherit this and set the data root (and, with it, how many
# patches per image make an epoch: `train_dataloader.dataset.times`).
train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='PairedRandomCrop', patch_size=100),
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
        type='RepeatDataset',
        times=1,
        dataset=dict(
            type='PairedImageDataset',
            data_root=None,  # set by the dataset config
            data_prefix=dict(img='rain', gt='norain'),
            pipeline=train_pipeline)))
