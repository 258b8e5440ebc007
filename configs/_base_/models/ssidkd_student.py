# SSID-KD student (official train_<D>_real.py), on top of the teacher
# model: per iteration one batch of synthetic pairs and one of real photos
# through the same network,
#   20 * L1(syn) + 1e-6 * [DC + TV](derain_syn and derain_real)
#   + 1e-6 * KL(softmax codes of syn || real, mean over all elements).
# kd_mode='official' keeps that KL (about 3e-11 at initialisation: it does
# nothing); the *_distill configs pull the student's codes of the real
# photos towards those of the frozen teacher instead.
_base_ = './ssidkd.py'

model = dict(
    kd_mode='official',
    pixel_loss=dict(type='L1Loss', loss_weight=20.0),
    prior_losses=[
        # -sum of MaxPool3d((3, 128, 128)) of 1 - (x + 1) / 2, as official
        dict(
            type='DarkChannelLoss',
            mode='official',
            patch_size=128,
            loss_weight=1e-6),
        dict(type='TVLoss', loss_weight=1e-6),
    ],
    code_loss=dict(type='SoftmaxKLLoss', reduction='mean', loss_weight=1e-6))
