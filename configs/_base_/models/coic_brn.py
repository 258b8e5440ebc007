# CoIC-BRN (Ran et al., ICLR 2024): BRN with every convolution a CoI-M
# layer (per-sample kernel reweighting from a 128-d code and the layer's
# mean input), the rain-/detail-aware momentum encoder (official
# FeatureExtract(3, 32, 128) + MoCo, m = 0.999) and the contrastive loss
# (tau 1.0, weight 0.2) after a warm-up of stage1_iters plain iterations.
# [0, 1] RGB, -SSIM restoration loss, official test: float outputs, code of
# the whole image resized to 128x128 from the key encoder.
model = dict(
    type='CoICDerainer',
    generator=dict(
        type='BRN',
        num_iters=8,
        mid_channels=32,
        conv_cfg=dict(type='CoIMConv2d', code_dim=128)),
    encoder=dict(
        type='MomentumEncoder',
        in_channels=3,
        mid_channels=32,
        code_dim=128,
        momentum=0.999),
    pixel_loss=dict(type='SSIMLoss'),
    contrastive_loss=dict(
        type='CoICContrastiveLoss', loss_weight=0.2, temperature=1.0),
    train_cfg=dict(
        stage1_iters=40_000,
        num_detail_negatives=4,
        rain_bank_batches=1,  # BRN: the current batch
        per_sample_negatives=False),  # as coded officially
    test_cfg=dict(context_size=128, quantize=None),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB',
        # whole images resized to the crop size, packed by the pipeline
        optional_data_keys=['img_ctx', 'gt_ctx']))
