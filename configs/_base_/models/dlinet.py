# DLINet (Li, Chen, Chang, IEEE TIP 2024): K=10 rain-location masks,
# N=15 mask-guided streak blocks, 32 channels. Stage 1 (joint training: the
# detector also sees the clean image, binary masks); stage-2 configs switch
# the generator to stage='second' and add the mask supervision.
model = dict(
    type='DLINetDerainer',
    generator=dict(
        type='DLINet',
        num_masks=10,
        num_msa_blocks=15,
        mid_channels=32,
        stage='first'),
    # official `--loss 1*MSE` on the rain layer, RGB in [0, 255]
    pixel_loss=dict(type='MSELoss'),
    # the official trainer crops every batch to a multiple of 8 (100x100
    # patches become 96x96); test images are padded instead (full images
    # are scored)
    train_cfg=dict(crop_multiple=8),
    test_cfg=dict(quantize='round'),
    pad_multiple=8,
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[1., 1., 1.],
        output_channel_order='RGB'))
