# Stage 2 of the small CPU DLINet (see the stage-1 config and README.md):
# 1,000 iterations (the estimator and fusion start from stage 1).
_base_ = ['./dlinet-k4-n5-c16_stage1_b8-p64-2k_rain100l.py']

model = dict(
    generator=dict(stage='second'),
    mask_loss=dict(type='BinaryCrossEntropyLoss', loss_weight=1e4))

param_scheduler = [
    # ends at train_cfg.max_iters (no T_max: the Runner sets the end)
    dict(type='CosineAnnealingLR', by_epoch=False, eta_min=1e-5)
]
train_cfg = dict(max_iters=1000, val_interval=1000)

custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint='work_dirs/dlinet-k4-n5-c16_stage1_b8-p64-2k_rain100l/'
        'iter_2000.pth',
        init_prefixes=('rain_estimate.', 'fusion.'))
]
