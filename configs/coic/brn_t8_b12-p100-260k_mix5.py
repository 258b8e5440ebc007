# BRN "without CoIC" on the same mixture and schedule (official: the same
# script with contra_loss_weight 0 and a warm-up that never ends, i.e. the
# plain network): BaseDerainer + plain BRN, one Adam optimiser.
_base_ = ['./coic-brn_t8_b12-p100-260k_mix5.py']

model = dict(
    _delete_=True,
    type='BaseDerainer',
    generator=dict(type='BRN', num_iters=8, mid_channels=32),
    pixel_loss=dict(type='SSIMLoss'),
    test_cfg=dict(quantize=None),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB'))
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3))
