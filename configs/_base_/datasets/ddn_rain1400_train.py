# DDN training set "Rain12600" (Fu et al. 2017): 900 clean images x 14 rain
# types, rainy_image/N_k.jpg (k = 1..14) <-> ground_truth/N.jpg.
_base_ = './paired_train.py'

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='ManyToOneDataset',
            data_root='data/ddn_rain1400/training',
            data_prefix=dict(img='rainy_image', gt='ground_truth'),
            pipeline={{_base_.train_pipeline}})))
