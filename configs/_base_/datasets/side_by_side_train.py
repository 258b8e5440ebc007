# Side-by-side training data (Rain800, DID-MDN): one file holds the rainy and
# the clean image; SplitSideBySide separates them. Dataset configs inherit
# this and set `order` ('rain_left' or 'clean_left') and the data root.
_base_ = './paired_train.py'

train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='SplitSideBySide'),  # img <- rainy half, gt <- clean half
    dict(type='PairedRandomCrop', patch_size=100),
    dict(
        type='Flip',
        keys=['img', 'gt'],
        flip_ratio=0.5,
        direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='SideBySideDataset',
            order=None,  # set by the dataset config
            data_root=None,
            pipeline=train_pipeline)))
