# SSID-KD student data: every sample is a random 128x128 crop of a
# synthetic pair plus a random 128x128 crop of a random real rainy photo
# (`PairedUnpairedDataset`; official dataset_<D>_real.py, no flips). The
# real crop is packed as `real_img` (normalised by the preprocessor's
# optional_data_keys). Real photos default to the 147 internet images
# (the official runs use their own `Real` folders, not published). Both
# are RGB here; officially the synthetic pair is RGB and the real photo BGR.
ssidkd_real_root = 'data/real_internet'

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PairedUnpairedDataset',
        paired=dict(
            type='PairedImageDataset',
            data_root=None,  # set by the config
            data_prefix=dict(img='rain', gt='norain'),
            pipeline=[
                dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                dict(type='PairedRandomCrop', patch_size=128),
            ]),
        unpaired=dict(
            type='UnpairedImageDataset',
            data_root=ssidkd_real_root,
            pipeline=[
                dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='PairedRandomCrop', patch_size=128, keys=['img']),
            ]),
    ))
