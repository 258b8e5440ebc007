# SSID-KD student on Rain200L + real photos (official
# train_Rain200L_real.py): as Rain200H, from the Rain200L teacher.
_base_ = ['./ssidkd_student_b2-p128-9k_rain200h-real.py']

train_dataloader = dict(
    dataset=dict(paired=dict(data_root='data/rain200l/train')))
val_dataloader = dict(dataset=dict(data_root='data/rain200l/test'))
test_dataloader = val_dataloader
teacher_checkpoint = 'work_dirs/ssidkd_teacher_b12-p120-78k_rain200l'
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint=teacher_checkpoint,
        teacher=False,
        init_prefixes=('', ))
]
