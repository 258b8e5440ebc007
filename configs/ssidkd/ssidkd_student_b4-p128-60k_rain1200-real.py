# SSID-KD student on Rain1200 (DID-MDN) + real photos (official
# train_Rain1200_real.py): 20 "epochs" of 3,000 iterations at batch 4 + 4,
# Adam 1e-4 constant, from the Rain1200 teacher.
_base_ = ['./ssidkd_student_b2-p128-9k_rain200h-real.py']

train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        paired=dict(
            _delete_=True,
            type='SideBySideDataset',
            order='rain_left',
            data_root='data/did_mdn/train',
            recursive=True,
            pipeline=[
                dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='SplitSideBySide'),
                dict(type='PairedRandomCrop', patch_size=128),
            ])))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='SideBySideDataset',
        order='rain_left',
        data_root='data/did_mdn/test',
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='SplitSideBySide'),
            dict(type='PackInputs'),
        ]))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=60_000, val_interval=3_000)
default_hooks = dict(checkpoint=dict(interval=3_000))
teacher_checkpoint = 'work_dirs/ssidkd_teacher_b12-p120-800k_rain1200'
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint=teacher_checkpoint,
        teacher=False,
        init_prefixes=('', ))
]
