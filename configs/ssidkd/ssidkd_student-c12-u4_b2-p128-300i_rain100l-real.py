# The small SSID-KD student for CPU learning evidence (see README.md): the
# teacher ssidkd_teacher-c12-u4_b4-p64-1k_rain100l.py fine-tuned on
# Rain100L train + the 147 real internet photos with the official loss
# (kd_mode='official'), batches of 2 + 2 random 128x128 crops, Adam 1e-4,
# 300 iterations (3 passes of the 200 pairs; officially 10).
_base_ = ['./ssidkd_student_b2-p128-9k_rain200h-real.py']

model = dict(generator=dict(channels=(12, 16, 24), num_units=(4, 2, 1)))

train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        paired=dict(
            data_root='data/rain100l/train',
            data_prefix=dict(img='rain', gt='norain'),
            layout='auto')))
val_dataloader = dict(
    dataset=dict(
        data_root='data/rain100l/test',
        data_prefix=dict(img='rain', gt='norain'),
        layout='auto'))
test_dataloader = val_dataloader
test_evaluator = [
    dict(type='MatlabPSNR'),
    dict(type='MatlabSSIM'),
    dict(type='MatlabPSNR', convert_to=None, prefix='RGB'),
    dict(type='MatlabSSIM', convert_to=None, prefix='RGB'),
]
val_evaluator = test_evaluator
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(
    logger=dict(interval=25), checkpoint=dict(interval=150, max_keep_ckpts=2))
teacher_checkpoint = ('work_dirs/ssidkd_teacher-c12-u4_b4-p64-1k_rain100l/'
                      'iter_1000.pth')
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint=teacher_checkpoint,
        teacher=False,
        init_prefixes=('', ))
]
