# The Rain2Avoid protocol on Rain100L: the 100 test images cropped to their
# top-left 320x480 (480x320) corner, their LDGP masks and their SDRs, made by
# (see configs/rain2avoid/README.md):
#   tools/rain2avoid/crop.py  -> data/rain2avoid/rain100l/{rain,norain}/N.png
#   tools/rain2avoid/ldgp.py  -> data/rain2avoid/rain100l/ldgp/N.png
#   tools/rain2avoid/nss.py   -> data/rain2avoid/rain100l/sdr/N/{0..49}.png
# Training never reads the clean images; they only give the metrics.
data_root = 'data/rain2avoid/rain100l'

test_pipeline = [
    dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    dict(type='CheckPairedSize'),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PairedImageDataset',
        data_root=data_root,
        data_prefix=dict(img='rain', gt='norain'),
        test_mode=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader
test_evaluator = [dict(type='MatlabPSNR'), dict(type='MatlabSSIM')]
val_evaluator = test_evaluator
test_cfg = dict(type='MultiTestLoop')
val_cfg = dict(type='MultiValLoop')
