# Side-by-side test data (Rain800, DID-MDN), full images. Dataset configs
# inherit this and set `order` and the data root.
_base_ = './paired_test.py'

test_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='SplitSideBySide'),  # img <- rainy half, gt <- clean half
    dict(type='PackInputs'),
]

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='SideBySideDataset',
        order=None,  # set by the dataset config
        data_root=None,
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader
