# The small distilling SSID-KD student (see README.md): as
# ssidkd_student-c12-u4_b2-p128-300i_rain100l-real.py with the codes of
# the real photos pulled towards those of the frozen small teacher.
_base_ = ['./ssidkd_student-c12-u4_b2-p128-300i_rain100l-real.py']

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
