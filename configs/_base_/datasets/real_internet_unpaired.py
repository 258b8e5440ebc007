# Real rainy photos without ground truth (147 internet images, as used by
# SSID-KD/Rain2Avoid): `UnpairedImageDataset` lists data/real_internet in
# natural order (1.jpg, 2.jpg, ..., 147.jpg). Only the rainy input `img`
# exists, so there is no test_evaluator here (PSNR/SSIM need `gt`): use it
# for self-/semi-supervised training on real rain and for visual inference.
real_data_root = 'data/real_internet'

# Random crops of the rainy image alone: PairedRandomCrop works with a
# single key (keys=['img']).
unpaired_train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='PairedRandomCrop', patch_size=128, keys=['img']),
    dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

unpaired_test_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='PackInputs'),
]

unpaired_train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UnpairedImageDataset',
        data_root=real_data_root,
        pipeline=unpaired_train_pipeline))

# Full images, one at a time (sizes differ).
unpaired_test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='UnpairedImageDataset',
        data_root=real_data_root,
        test_mode=True,
        pipeline=unpaired_test_pipeline))
