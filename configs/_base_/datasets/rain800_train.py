# Rain800 training set (ID-CGAN, Zhang et al. 2017): 700 side-by-side files
# training/N.jpg holding `clean | rainy` (check one file of your copy and set
# `order` accordingly).
_base_ = './side_by_side_train.py'

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            order='clean_left',
            data_root='data/rain800/training',
        )))
