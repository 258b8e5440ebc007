# DLINet stage 1 (joint training) on SPA-Data (638,492 real pairs): batches
# of 20 patches of 100x100 (cropped to 96x96), horizontal flips, Adam 2e-4.
#
# Fix of the official SPA loader: its float `repeat` makes an "epoch" 20,000
# samples drawn from the first ~20k lines of the index file only. Here every
# iteration samples the whole set (infinite shuffled sampler) and the
# official length is kept: 300 "epochs" of 1,000 iterations, lr halved at
# 100k/150k/200k/250k iterations.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dlinet.py',
    '../_base_/datasets/spa_train.py',
    '../_base_/datasets/spa_test.py',
    '../_base_/schedules/adam_ms-100-150-200-250_300e.py',
]

train_dataloader = dict(
    batch_size=20, sampler=dict(type='InfiniteSampler', shuffle=True))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[100_000, 150_000, 200_000, 250_000],
        gamma=0.5)
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=300_000,
    val_interval=10_000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10_000))
log_processor = dict(by_epoch=False)
