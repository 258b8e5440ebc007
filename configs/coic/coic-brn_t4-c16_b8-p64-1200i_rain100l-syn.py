# CPU learning evidence (see README.md): CoIC-BRN with 4 recurrent
# iterations and 16 channels on Rain100L + its synthetic-rain copy, 64x64
# crops, batch 8; 300 warm-up iterations, then 900 CoIC iterations; the
# official losses, optimisers and lr. Tested on Rain100L test.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/coic_brn.py',
    '../_base_/datasets/coic_rain100l_syn_train.py',
    '../_base_/datasets/rain100l_test.py',
    '../_base_/schedules/coic_adam_260k.py',
]

model = dict(
    generator=dict(num_iters=4, mid_channels=16),
    train_cfg=dict(stage1_iters=300))
param_scheduler = dict(milestones=[1000])
train_cfg = dict(max_iters=1200, val_interval=300)
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=4),
    logger=dict(interval=50))
log_processor = dict(by_epoch=False)
