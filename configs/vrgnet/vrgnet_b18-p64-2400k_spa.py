# VRGNet joint training on SPA-Data (official train_spa_joint.py): as the
# synthetic recipe but 800 epochs of 3,000 iterations and an adversarial
# weight of 0.01 in the derainer/encoder/generator loss.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/vrgnet.py',
    '../_base_/datasets/spa_train.py',
    '../_base_/datasets/spa_test.py',
    '../_base_/schedules/vrgnet_adam_700e.py',
]

model = dict(adv_weight=0.01)
train_dataloader = dict(
    batch_size=18,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset=dict(pipeline={{_base_.vrgnet_train_pipeline}})))
train_cfg = dict(max_iters=800 * 3000)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=30_000, max_keep_ckpts=3),
    logger=dict(interval=200))
log_processor = dict(by_epoch=False)
