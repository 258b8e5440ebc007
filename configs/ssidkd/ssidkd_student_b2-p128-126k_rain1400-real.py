# SSID-KD student on Rain1400 (DDN) + real photos (official
# train_Rain1400_real.py): 20 "epochs" of 6,300 iterations at batch 2 + 2,
# Adam 1e-4 constant, from the Rain1400 teacher.
_base_ = ['./ssidkd_student_b2-p128-9k_rain200h-real.py']

train_dataloader = dict(
    dataset=dict(
        paired=dict(
            _delete_=True,
            type='ManyToOneDataset',
            data_root='data/ddn_rain1400/training',
            data_prefix=dict(img='rainy_image', gt='ground_truth'),
            pipeline=[
                dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                dict(type='PairedRandomCrop', patch_size=128),
            ])))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ManyToOneDataset',
        data_root='data/ddn_rain1400/testing',
        data_prefix=dict(img='rainy_image', gt='ground_truth'),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='CheckPairedSize'),
            dict(type='PackInputs'),
        ]))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=126_000, val_interval=6_300)
default_hooks = dict(checkpoint=dict(interval=6_300))
teacher_checkpoint = 'work_dirs/ssidkd_teacher_b12-p120-840k_rain1400'
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint=teacher_checkpoint,
        teacher=False,
        init_prefixes=('', ))
]
