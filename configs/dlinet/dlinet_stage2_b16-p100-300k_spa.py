# DLINet stage 2 (task-oriented training, the deployed model) on SPA-Data:
# the stage-1 schedule and sampling (see dlinet_stage1_b20-p100-300k_spa.py)
# with batches of 16, 1e4 * BCE mask supervision by the frozen stage-1
# detector, estimation and fusion started from stage 1.
_base_ = [
    './dlinet_stage1_b20-p100-300k_spa.py',
]

model = dict(
    generator=dict(stage='second'),
    mask_loss=dict(type='BinaryCrossEntropyLoss', loss_weight=1e4))
train_dataloader = dict(batch_size=16)

# the last stage-1 iteration (a work dir is also accepted: last_checkpoint)
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint='work_dirs/dlinet_stage1_b20-p100-300k_spa/iter_300000.pth',
        init_prefixes=('rain_estimate.', 'fusion.'))
]
