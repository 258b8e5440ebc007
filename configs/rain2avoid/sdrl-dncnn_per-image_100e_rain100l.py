# Per-image SDRL with the official DnCNN backbone (17 layers, outputs the
# image itself: no residual), any size.
_base_ = './sdrl-unet_per-image_100e_rain100l.py'

model = dict(generator=dict(_delete_=True, type='DnCNN'), pad_multiple=1)
