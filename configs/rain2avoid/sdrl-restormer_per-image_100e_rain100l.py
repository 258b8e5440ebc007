# Per-image SDRL with Restormer (mmagic's, through the parent registry; the
# official defaults: dim 48, blocks [4, 6, 6, 8], 4 refinement blocks, heads
# [1, 2, 4, 8], FFN x2.66, WithBias LayerNorm, global residual; 26,126,644
# parameters); sides padded to multiples of 8.
_base_ = './sdrl-unet_per-image_100e_rain100l.py'

model = dict(generator=dict(_delete_=True, type='Restormer'), pad_multiple=8)
