# Rain800 synthetic test set (ID-CGAN `test_syn`): 100 side-by-side files
# holding `clean | rainy`, full images.
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
        order='clean_left',
        data_root='data/rain800/test_syn',
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader
