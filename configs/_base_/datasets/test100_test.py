# Test100 of the Rain13K benchmark (MPRNet/Restormer layout): 100 pairs
# input/N.* <-> target/N.*, the test_syn images of Rain800 (ID-CGAN).
_base_ = './paired_test.py'

test_dataloader = dict(
    dataset=dict(
        data_root='data/rain13k/test/Test100',
        data_prefix=dict(img='input', gt='target'),
        layout='same_name'))
val_dataloader = test_dataloader
