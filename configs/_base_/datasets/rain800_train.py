# Rain800 training set (ID-CGAN, Zhang et al. 2017): 700 side-by-side files
# training/N.jpg holding `clean | rainy` (check one file of your copy and set
# `order` accordingly).
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
            order='clean_left',
            data_root='data/rain800/training',
            pipeline=train_pipeline)))
