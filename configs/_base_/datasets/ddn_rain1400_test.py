# DDN test set "Rain1400" (Fu et al. 2017): 100 clean images x 14 rain
# types, rainy_image/N_k.jpg (k = 1..14) <-> ground_truth/N.jpg.
_base_ = './paired_test.py'

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ManyToOneDataset',
        data_root='data/ddn_rain1400/testing',
        data_prefix=dict(img='rainy_image', gt='ground_truth'),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
val_dataloader = test_dataloader
