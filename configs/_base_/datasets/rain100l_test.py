# Rain100L test split: 100 pairs rain/norain-N.png, full images.
_base_ = './paired_test.py'

test_dataloader = dict(dataset=dict(data_root='data/rain100l/test'))
val_dataloader = test_dataloader
