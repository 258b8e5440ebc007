# Rain100H training split (RainTrainH): 1,800 pairs rain/norain-N.png.
_base_ = './paired_train.py'

# One epoch = 3 random patches per image, about the fixed 100x100 patches
# (stride 80) of the official PReNet data preparation.
train_dataloader = dict(
    dataset=dict(times=3, dataset=dict(data_root='data/rain100h/train')))
