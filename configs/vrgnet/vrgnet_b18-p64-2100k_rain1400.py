# VRGNet joint training on Rain1400 (DDN, 12,600 pairs), official recipe:
# batches of 18 random 64x64 patches, 700 epochs of 3,000 iterations. The
# critic steps every iteration, the derainer/encoder/generator every 5th.
# tools/test.py evaluates the derainer (BNet, "PReNet-" in the paper).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/vrgnet.py',
    '../_base_/datasets/ddn_rain1400_train.py',
    '../_base_/datasets/ddn_rain1400_test.py',
    '../_base_/schedules/vrgnet_adam_700e.py',
]

train_dataloader = dict(
    batch_size=18,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset=dict(pipeline={{_base_.vrgnet_train_pipeline}})))
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=30_000, max_keep_ckpts=3),
    logger=dict(interval=200))
log_processor = dict(by_epoch=False)
