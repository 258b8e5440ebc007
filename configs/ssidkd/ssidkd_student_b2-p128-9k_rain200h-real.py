# SSID-KD student on Rain200H + real photos (official train_Rain200H_real.py):
# starts from the Rain200H teacher, 10 "epochs" of 900 iterations at batch
# 2 + 2, Adam 1e-4 constant; the official loss, including its code term
# (kd_mode='official'). The *_distill config distils from the teacher.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd_student.py',
    '../_base_/datasets/ssidkd_real_train.py',
    '../_base_/datasets/rain200h_test.py',
    '../_base_/schedules/ssidkd_student.py',
]

train_dataloader = dict(
    dataset=dict(
        paired=dict(
            data_root='data/rain200h/train',
            data_prefix=dict(img='rain/X2', gt='norain'),
            layout='rain200')))
train_cfg = dict(max_iters=9_000, val_interval=900)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=900))
log_processor = dict(by_epoch=False)
randomness = dict(seed=66)

# the whole network starts from the teacher ('' selects every key); on a
# resumed run the resumed weights win
teacher_checkpoint = 'work_dirs/ssidkd_teacher_b12-p120-78k_rain200h'
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint=teacher_checkpoint,
        teacher=False,
        init_prefixes=('', ))
]
