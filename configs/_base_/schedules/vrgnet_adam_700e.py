# VRGNet's joint schedule: three Adam optimisers (default betas), as the
# official code: lr 2e-4 for the derainer (BNet), 1e-4 for the rain encoder
# and generator together (RNet + G) and 4e-4 for the critic; 700 epochs of
# 3,000 iterations (batch 18), every lr halved at epochs
# 400/600/650/675/690/700.
optim_wrapper = dict(
    constructor='GroupedOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4)),
    rain=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4),
        modules=('rain_encoder', 'rain_generator')),
    critic=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4)))

param_scheduler = dict(
    type='MultiStepLR',
    by_epoch=False,
    milestones=[e * 3000 for e in (400, 600, 650, 675, 690, 700)],
    gamma=0.5)
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=700 * 3000, val_interval=30_000)
# iteration-based: configs set default_hooks.checkpoint.by_epoch=False and
# log_processor.by_epoch=False (keys of default_runtime.py)
