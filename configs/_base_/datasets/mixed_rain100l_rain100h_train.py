# Rain100L (200 pairs) + Rain100H (1,800 pairs) trained together, as CoIC
# mixes Rain100L/Rain200H/Rain13K. `MixedDataset` concatenates the sets and
# tags every sample with `dataset_idx` (0 = rain100l, 1 = rain100h) and
# `dataset_name`; `MixedDatasetSampler` draws set k with probability
# weights[k] / sum(weights) (here half the patches from each set, although
# Rain100H is 9x larger), then a random image of that set. The sampler is
# DDP-aware and reshuffles per epoch (seed + epoch), for EpochBasedTrainLoop
# and IterBasedTrainLoop alike; `num_samples` is the epoch length (default:
# the total number of images).
train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='PairedRandomCrop', patch_size=100),
    dict(
        type='Flip',
        keys=['img', 'gt'],
        flip_ratio=0.5,
        direction='horizontal'),
    # mmagic's PackInputs drops unknown keys: keep the dataset tags in
    # DataSample.metainfo (data_sample.metainfo['dataset_idx']).
    dict(type='PackInputs', meta_keys=['dataset_idx', 'dataset_name']),
]

train_dataloader = dict(
    batch_size=18,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MixedDatasetSampler', num_samples=6000),
    dataset=dict(
        type='MixedDataset',
        datasets=[
            dict(
                type='PairedImageDataset',
                data_root='data/rain100l/train',
                data_prefix=dict(img='rain', gt='norain')),
            dict(
                type='PairedImageDataset',
                data_root='data/rain100h/train',
                data_prefix=dict(img='rain', gt='norain')),
        ],
        names=['rain100l', 'rain100h'],
        weights=[1, 1],
        pipeline=train_pipeline))
