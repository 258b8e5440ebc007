# PReNet (Ren et al., CVPR 2019): 6 stages, conv-LSTM recurrence, 5 residual
# blocks, trained with negative SSIM on the final output.
model = dict(
    type='BaseDerainer',
    generator=dict(
        type='PReNet',
        num_stages=6,
        mid_channels=32,
        num_res_blocks=5,
        recurrent='lstm',
        share_res_blocks=False),
    pixel_loss=dict(type='SSIMLoss'),
    # The official test script saves uint8(255 * clamp(x, 0, 1)): truncation.
    # Keep it to reproduce the published numbers.
    test_cfg=dict(quantize='trunc'),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB'))
