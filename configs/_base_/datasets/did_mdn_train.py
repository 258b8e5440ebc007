# DID-MDN training set (Zhang & Patel 2018): 12,000 side-by-side files
# `rainy | clean` in Rain_Heavy/, Rain_Medium/ and Rain_Light/ (4,000 each,
# e.g. Rain_Heavy/train2018new/N.jpg), listed recursively.
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
            order='rain_left',
            data_root='data/did_mdn/train',
            recursive=True,  # Rain_Heavy, Rain_Medium, Rain_Light
            pipeline=train_pipeline)))
