# PReNet_r: PReNet with one residual block applied 5 times per stage.
_base_ = './prenet_t6_b18-p100-100e_rain100l.py'
model = dict(generator=dict(share_res_blocks=True))
