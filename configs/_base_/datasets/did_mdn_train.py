# DID-MDN training set (Zhang & Patel 2018): 12,000 side-by-side files
# `rainy | clean` in Rain_Heavy/, Rain_Medium/ and Rain_Light/ (4,000 each,
# e.g. Rain_Heavy/train2018new/N.jpg), listed recursively.
_base_ = './side_by_side_train.py'

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            order='rain_left',
            data_root='data/did_mdn/train',
            recursive=True,  # Rain_Heavy, Rain_Medium, Rain_Light
        )))
