# CoIC's mixed training set (official mix_dataset.py): Rain200H, Rain200L,
# Rain800, DID-MDN (Rain1200) and DDN (Rain1400), 28,900 pairs in one
# shuffled list (no per-dataset balancing: plain concatenation). Per sample:
# the whole rainy and clean images resized to the crop size (img_ctx /
# gt_ctx, the encoder's query and detail negatives; INTER_AREA, i.e.
# antialiased as torchvision's Resize), then one aligned 100x100 crop and
# one of {no flip, vertical, horizontal} flips. Every sample carries its
# dataset_idx / dataset_name.
crop = 100
_ctx = dict(
    type='Resize',
    keys=['img', 'gt'],
    output_keys=['img_ctx', 'gt_ctx'],
    scale=(crop, crop),
    keep_ratio=False,
    interpolation='area')
_tail = [
    _ctx,
    dict(type='PairedRandomCrop', patch_size=crop),
    # official: randint(0, 3) -> 1 vertical, 2 horizontal flip, else none;
    # here each flip with p = 1/4 (both together 1/16 of the time)
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
paired_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
] + _tail
side_by_side_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='SplitSideBySide'),
] + _tail

train_dataloader = dict(
    batch_size=12,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='MixedDataset',
        datasets=[
            dict(
                type='PairedImageDataset',
                data_root='data/rain200h/train',
                data_prefix=dict(img='rain/X2', gt='norain'),
                layout='rain200',
                pipeline=paired_pipeline),
            dict(
                type='PairedImageDataset',
                data_root='data/rain200l/train',
                data_prefix=dict(img='rain/X2', gt='norain'),
                layout='rain200',
                pipeline=paired_pipeline),
            dict(
                type='SideBySideDataset',
                order='clean_left',
                data_root='data/rain800/training',
                pipeline=side_by_side_pipeline),
            dict(
                type='SideBySideDataset',
                order='rain_left',
                data_root='data/did_mdn/train',
                recursive=True,
                pipeline=side_by_side_pipeline),
            dict(
                type='ManyToOneDataset',
                data_root='data/ddn_rain1400/training',
                data_prefix=dict(img='rainy_image', gt='ground_truth'),
                pipeline=paired_pipeline),
        ],
        names=['rain200h', 'rain200l', 'rain800', 'did_mdn', 'ddn']))
