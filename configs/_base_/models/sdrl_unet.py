# Rain2Avoid SDRL (Peng et al., TMM 2025): the official UNet (4,539,988
# parameters) maps a rainy image to its stochastic derained references (SDRs)
# with MSE on RGB [0, 1]. The UNet needs sides that are multiples of 16: other
# sizes are reflect-padded and cropped back.
model = dict(
    type='BaseDerainer',
    generator=dict(type='R2AUNet'),
    pixel_loss=dict(type='MSELoss', loss_weight=1.0, reduction='mean'),
    pad_multiple=16,
    # the official scripts save outputs with plt.imsave: uint8(255 * x)
    test_cfg=dict(quantize='trunc'),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB'))
