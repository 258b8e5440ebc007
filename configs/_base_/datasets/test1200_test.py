# Test1200 of the Rain13K benchmark (MPRNet/Restormer layout): 1,200 pairs
# input/N.* <-> target/N.*, the DID-MDN test set, already split in halves.
_base_ = './paired_test.py'

test_dataloader = dict(
    dataset=dict(
        data_root='data/rain13k/test/Test1200',
        data_prefix=dict(img='input', gt='target'),
        layout='same_name'))
val_dataloader = test_dataloader
