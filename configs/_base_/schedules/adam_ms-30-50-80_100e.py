# Official PReNet schedule: Adam lr 1e-3, 100 epochs, lr x0.2 at 30/50/80.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(
        type='MultiStepLR', by_epoch=True, milestones=[30, 50, 80], gamma=0.2)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
