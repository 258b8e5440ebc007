# DID-MDN test set, "Rain1200" (Zhang & Patel 2018): 1,200 side-by-side files
# holding `rainy | clean`, full images.
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
        order='rain_left',
        data_root='data/did_mdn/test',
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader
