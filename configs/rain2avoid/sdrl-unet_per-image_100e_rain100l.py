# Rain2Avoid "Single" (official sdrl.py): for every image a fresh UNet and a
# fresh Adam (1e-3, constant), 100 epochs over its 50 SDRs in the official
# file order (0, 1, 10, 11, ...) = 5,000 full-size steps of MSE(f(I), SDR_k),
# then the eval-mode output. Writes work_dir/per_image/<N>.png, a JSON per
# image (loss per step, metrics) and summary.json; images that cannot be
# processed are reported and make the exit status 1.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/sdrl_unet.py',
    '../_base_/datasets/rain2avoid_rain100l.py',
]

train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadSDRs', channel_order='rgb'),
    # the clean image, where there is one, only gives the metrics
    dict(
        type='LoadImageFromFile', key='gt', channel_order='rgb',
        optional=True),
    dict(type='PackInputs', data_keys=['sdrs']),
]
train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    dataset=dict(gt_dir='norain', pipeline=train_pipeline))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = []  # constant learning rate
train_cfg = dict(
    type='PerImageTrainLoop',
    epochs=100,
    order='lexicographic',
    evaluator={{_base_.test_evaluator}},
    log_interval=500)
# no validation loop: the per-image loop scores each output itself
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(logger=dict(interval=500), checkpoint=None)
log_processor = dict(by_epoch=False)
randomness = dict(seed=3)
