# VRGNet (Wang et al., CVPR 2021): variational PReNet derainer (BNet), rain
# inference network (RNet), rain generator (G) and SAGAN critic (D), trained
# jointly (official train_syn_joint.py defaults: latent 128, nef 32, ndf 64,
# 6 stages, eps2 1e-6, lambda_gp 10, n_dis 5).
model = dict(
    type='VRGNet',
    generator=dict(
        type='VariationalPReNet',
        num_stages=6,
        mid_channels=32,
        num_res_blocks=5),
    rain_encoder=dict(
        type='RainEncoder', latent_dim=128, base_channels=32, image_size=64),
    rain_generator=dict(
        type='RainGenerator', latent_dim=128, base_channels=32, image_size=64),
    critic=dict(type='SAGANCritic', image_size=64, conv_dim=64),
    prior_var=1e-6,
    adv_weight=1.0,
    gp_weight=10.0,
    n_dis=5,
    # the official test script saves uint8(255 * clamp(mu_b)): truncation
    test_cfg=dict(quantize='trunc'),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB'))

# G and D work on 64x64 patches: random aligned crops, no flips (official
# TrainDataset)
vrgnet_train_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='PairedRandomCrop', patch_size=64),
    dict(type='PackInputs'),
]

# alternating updates of several sub-networks: one DDP wrapper per
# sub-network under tools/dist_train.sh
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
