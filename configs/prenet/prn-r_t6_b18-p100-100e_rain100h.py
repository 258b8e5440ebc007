# PRN_r: PRN with one residual block applied 5 times per stage.
_base_ = './prenet_t6_b18-p100-100e_rain100h.py'
model = dict(generator=dict(recurrent=None, share_res_blocks=True))
