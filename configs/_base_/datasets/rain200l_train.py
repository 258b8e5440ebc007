# Rain200L training split (JORDER, Yang et al. 2017): 1,800 pairs
# rain/X2/norain-Nx2.png <-> norain/norain-N.png, 481x321.
_base_ = './paired_train.py'

# One epoch = 3 random patches per image (as Rain100H's 1,800 pairs).
train_dataloader = dict(
    dataset=dict(
        times=3,
        dataset=dict(
            data_root='data/rain200l/train',
            data_prefix=dict(img='rain/X2', gt='norain'),
            layout='rain200')))
