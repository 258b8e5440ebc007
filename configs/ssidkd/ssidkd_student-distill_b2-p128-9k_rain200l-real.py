# Distilling student on Rain200L + real photos (see the Rain200H one).
_base_ = ['./ssidkd_student_b2-p128-9k_rain200l-real.py']

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
