# The Rain2Avoid protocol on Rain100L: the 100 test images cropped to their
# top-left 320x480 (480x320) corner, their LDGP masks and their SDRs, made by
# (see configs/rain2avoid/README.md):
#   tools/rain2avoid/crop.py  -> data/rain2avoid/rain100l/{rain,norain}/N.png
#   tools/rain2avoid/ldgp.py  -> data/rain2avoid/rain100l/ldgp/N.png
#   tools/rain2avoid/nss.py   -> data/rain2avoid/rain100l/sdr/N/{0..49}.png
# Training never reads the clean images; they only give the metrics (the
# test split below: the same crops, paired with their clean crops).
_base_ = './paired_test.py'

data_root = 'data/rain2avoid/rain100l'
# Training: the rainy crops with their 50 SDRs each, in folder order (the
# official loaders do not shuffle); recipes add the pipeline and the batch.
train_dataloader = dict(
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='SDRDataset',
        data_root=data_root,
        data_prefix=dict(img='rain'),
        sdr_dir='sdr',
        num_sdrs=50))
test_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = test_dataloader
