# DID-MDN test set, "Rain1200" (Zhang & Patel 2018): 1,200 side-by-side files
# holding `rainy | clean`, full images.
_base_ = './side_by_side_test.py'

test_dataloader = dict(
    dataset=dict(
        order='rain_left',
        data_root='data/did_mdn/test',
    ))
val_dataloader = test_dataloader
