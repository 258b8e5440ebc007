# The worked example of docs/adding_a_method.md: a small PReNet trained with
# SSIM and, after 500 iterations, an adversarial patch critic (two networks,
# two optimisers), 64x64 crops of Rain100L, batches of 8, 2,000 iterations.
# An example of the code layout, not a published method: no numbers.
#   PYTHONPATH=. python tools/train.py \
#       projects/example_method/configs/gan-prenet_t4-c16_b8-p64-2k_rain100l.py
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/datasets/rain100l_train.py',
    '../../../configs/_base_/datasets/rain100l_test.py',
]
# registers ExampleGANDerainer and ExamplePatchCritic (run from the
# repository root with PYTHONPATH=.)
custom_imports = dict(
    imports=['projects.example_method.models'], allow_failed_imports=False)

model = dict(
    type='ExampleGANDerainer',
    generator=dict(
        type='PReNet', num_stages=4, mid_channels=16, num_res_blocks=2),
    critic=dict(type='ExamplePatchCritic', base_channels=16),
    pixel_loss=dict(type='SSIMLoss'),
    adv_weight=0.01,
    warmup_iters=500)

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        dataset=dict(pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='PairedRandomCrop', patch_size=64),
            dict(
                type='Flip',
                keys=['img', 'gt'],
                flip_ratio=0.5,
                direction='horizontal'),
            dict(type='PackInputs'),
        ])))

# one wrapper per network: the keys are ExampleGANDerainer's
# optim_wrapper_names; a group without `modules` owns the sub-module of its
# name
optim_wrapper = dict(
    constructor='GroupedOptimWrapperConstructor',
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
    critic=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=False, milestones=[1500], gamma=0.2)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2000, val_interval=2000)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=2),
    logger=dict(interval=50))
log_processor = dict(by_epoch=False)
# networks updated separately: one DDP wrapper per network under
# tools/dist_train.sh
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
