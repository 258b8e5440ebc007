# Test2800 of the Rain13K benchmark (MPRNet/Restormer layout): 2,800 pairs
# input/N.* <-> target/N.*, 200 clean images x 14 rain types of DDN's
# Rain14000.
_base_ = './paired_test.py'

test_dataloader = dict(
    dataset=dict(
        data_root='data/rain13k/test/Test2800',
        data_prefix=dict(img='input', gt='target'),
        layout='same_name'))
val_dataloader = test_dataloader
