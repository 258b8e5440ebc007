# Rain800 synthetic test set (ID-CGAN `test_syn`): 100 side-by-side files
# holding `clean | rainy`, full images.
_base_ = './side_by_side_test.py'

test_dataloader = dict(
    dataset=dict(
        order='clean_left',
        data_root='data/rain800/test_syn',
    ))
val_dataloader = test_dataloader
