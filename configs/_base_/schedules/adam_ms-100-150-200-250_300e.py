# DLINet's official schedule: Adam lr 2e-4 (README), betas (0.9, 0.999),
# 300 epochs, lr halved at epochs 100/150/200/250. An "epoch" is the
# JORDER/EDSR `repeat` of the training set: dataset configs set
# train_dataloader.dataset.times = 1000 // (num_images // batch_size).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999), eps=1e-8))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[100, 150, 200, 250],
        gamma=0.5)
]
# The official code tests on the test set after every epoch and keeps the
# best one (model selection on test data). Here validation only monitors;
# the next stage and the reported numbers use the last epoch.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=10)
