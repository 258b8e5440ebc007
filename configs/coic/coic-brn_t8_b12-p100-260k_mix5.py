# CoIC-BRN on the five-dataset mixture, official recipe (train_BRN.py with
# the README's --contra_loss_weight 0.2): 40k warm-up iterations of plain
# BRN, then CoIC; tested on Rain200H (set the test set with
# --cfg-options or inherit a test dataset config).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/coic_brn.py',
    '../_base_/datasets/coic_mix5_train.py',
    '../_base_/datasets/rain200h_test.py',
    '../_base_/schedules/coic_adam_260k.py',
]

default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=20_000, max_keep_ckpts=3),
    logger=dict(interval=100))
log_processor = dict(by_epoch=False)
