# Stage 2 of the small CPU DLINet (see the stage-1 config and README.md).
_base_ = ['./dlinet-k4-n5-c16_stage1_b8-p64-2k_rain100l.py']

model = dict(
    generator=dict(stage='second'),
    mask_loss=dict(type='BinaryCrossEntropyLoss', loss_weight=1e4))

custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint='work_dirs/dlinet-k4-n5-c16_stage1_b8-p64-2k_rain100l/'
        'iter_2000.pth',
        init_prefixes=('rain_estimate.', 'fusion.'))
]
