# Rain200L test split: 200 pairs
# rain/X2/norain-Nx2.png <-> norain/norain-N.png.
_base_ = './paired_test.py'

test_dataloader = dict(
    dataset=dict(
        data_root='data/rain200l/test',
        data_prefix=dict(img='rain/X2', gt='norain'),
        layout='rain200'))
val_dataloader = test_dataloader
