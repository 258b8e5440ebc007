# CoIC's BRN schedule (official train_BRN.py): two Adam optimisers, lr 1e-3,
# stepped every iteration: "base" (the backbone without its modulation
# MLPs) and "tran" (the g2pa MLPs and the encoder); 260k iterations; lr x0.2
# after epochs 30/50/80 of the 28,900-pair mixture at batch 12 (2,409
# iterations per epoch; the official scheduler.step(epoch) takes effect one
# epoch later, hence 31/51/81 epochs).
optim_wrapper = dict(
    constructor='GroupedOptimWrapperConstructor',
    base=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3),
        modules=('generator', ),
        exclude=dict(generator='g2pa')),
    tran=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3),
        modules=('generator', 'encoder'),
        include=dict(generator='g2pa')))

_iters_per_epoch = 2409
param_scheduler = dict(
    type='MultiStepLR',
    by_epoch=False,
    milestones=[e * _iters_per_epoch for e in (31, 51, 81)],
    gamma=0.2)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=260_000, val_interval=20_000)
