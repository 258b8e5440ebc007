# Rain2Avoid's online variant (sdrl_online in the official history): the SDRs
# are made in memory by the NSS op from the image and its LDGP mask, with
# eta = 1 (generateSDR_multiple.py), and each image trains for 100 steps,
# step t on SDR t mod 50.
_base_ = './sdrl-unet_per-image_100e_rain100l.py'

train_dataloader = dict(
    dataset=dict(
        sdr_dir=None,
        ldgp_dir='ldgp',
        pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='GenerateSDRs', num=50, eta=1.0, pick='all'),
            dict(
                type='LoadImageFromFile',
                key='gt',
                channel_order='rgb',
                optional=True),
            dict(type='PackInputs', data_keys=['sdrs']),
        ]))
train_cfg = dict(epochs=2, order='numeric', log_interval=50)
