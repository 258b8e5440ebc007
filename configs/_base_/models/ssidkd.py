# SSID-KD (Cui et al., IEEE TCSVT; official cuiyixin555/SSID-KD): the
# three-scale pyramid of densely connected encoder-decoders (`SSIDKDNet`,
# the official ODE_DerainNet, 4,433,779 parameters), trained as a teacher
# with -SSIM on synthetic pairs (official `ssim_loss = True`). Images are
# RGB in [0, 1] (the official teacher reads BGR; see configs/ssidkd).
# The student configs add the real photos (`real_img`), the priors and the
# code loss (configs/ssidkd/*student*).
model = dict(
    type='SSIDKDDerainer',
    generator=dict(type='SSIDKDNet'),
    pixel_loss=dict(type='SSIMLoss'),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB',
        optional_data_keys=['real_img']))
