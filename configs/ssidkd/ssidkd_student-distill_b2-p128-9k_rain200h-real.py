# SSID-KD student with distillation proper (the paper's intent, not the
# official code): the student's codes of the real photos are pulled
# towards those of the frozen Rain200H teacher, with the KL summed over the
# 48 channels and averaged over positions (`reduction='position_mean'`) and a
# weight at which it matters (see configs/ssidkd/README.md).
_base_ = ['./ssidkd_student_b2-p128-9k_rain200h-real.py']

model = dict(
    kd_mode='distill',
    code_loss=dict(
        type='SoftmaxKLLoss', reduction='position_mean', loss_weight=100.0))
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint={{_base_.teacher_checkpoint}},
        teacher=True,
        init_prefixes=('', ))
]
