# Rain100L training split (RainTrainL): 200 pairs rain/norain-N.png, 481x321.
_base_ = './paired_train.py'

# One epoch = 30 random patches per image, about the 6,000 fixed 100x100
# patches (stride 80, with flips) of the official PReNet data preparation.
train_dataloader = dict(
    dataset=dict(times=30, dataset=dict(data_root='data/rain100l/train')))
