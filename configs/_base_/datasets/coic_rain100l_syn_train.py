# Two "datasets" for CPU-sized CoIC runs: Rain100L's 200 real pairs and a
# synthetic-rain copy of its clean images (AddRainStreaks, new rain every
# time an image is drawn: different streak statistics, the kind of mixture
# CoIC is built for). Same per-sample recipe as coic_mix5_train.py, with
# 64x64 crops.
crop = 64
_tail = [
    dict(
        type='Resize',
        keys=['img', 'gt'],
        output_keys=['img_ctx', 'gt_ctx'],
        scale=(crop, crop),
        keep_ratio=False,
        interpolation='area'),
    dict(type='PairedRandomCrop', patch_size=crop),
    dict(
        type='Flip', keys=['img', 'gt'], flip_ratio=0.25,
        direction='vertical'),
    dict(
        type='Flip',
        keys=['img', 'gt'],
        flip_ratio=0.25,
        direction='horizontal'),
    dict(
        type='PackInputs',
        data_keys=['img_ctx', 'gt_ctx'],
        meta_keys=['dataset_idx', 'dataset_name']),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='MixedDataset',
        datasets=[
            dict(
                type='PairedImageDataset',
                data_root='data/rain100l/train',
                data_prefix=dict(img='rain', gt='norain'),
                pipeline=[
                    dict(
                        type='LoadImageFromFile',
                        key='img',
                        channel_order='rgb'),
                    dict(
                        type='LoadImageFromFile',
                        key='gt',
                        channel_order='rgb'),
                ] + _tail),
            dict(
                type='BasicImageDataset',
                data_root='data/rain100l/train',
                data_prefix=dict(gt='norain'),
                pipeline=[
                    dict(
                        type='LoadImageFromFile',
                        key='gt',
                        channel_order='rgb'),
                    dict(
                        type='AddRainStreaks',
                        key='gt',
                        out_key='img',
                        width=(1, 2),
                        brightness=(0.5, 0.9)),
                ] + _tail),
        ],
        names=['rain100l', 'rain100l_syn']))
