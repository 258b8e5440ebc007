# Paired rain/clean test data: full images, MATLAB-protocol Y PSNR/SSIM
# (rgb2ycbcr on im2double images, SSIM with an 11x11 Gaussian window,
# 'valid' filtering). Dataset configs inherit this and set the data root.
test_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='CheckPairedSize'),
    dict(type='PackInputs'),
]

test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PairedImageDataset',
        data_root=None,  # set by the dataset config
        data_prefix=dict(img='rain', gt='norain'),
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader

test_evaluator = [dict(type='MatlabPSNR'), dict(type='MatlabSSIM')]
val_evaluator = test_evaluator
# mmagic's loops: several test sets in one run (list the dataloaders and
# evaluators, with a metric prefix per set), progress over all of them
test_cfg = dict(type='MultiTestLoop')
val_cfg = dict(type='MultiValLoop')
