# Rain13K training set (MPRNet/Restormer): 13,712 pairs input/N.jpg <->
# target/N.jpg, gathered from Rain14000, Rain1800, Rain800, Rain12 and
# Rain12600 (DDN).
_base_ = './paired_train.py'

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            data_root='data/rain13k/train',
            data_prefix=dict(img='input', gt='target'),
            layout='same_name')))
