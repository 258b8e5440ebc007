# NIQE on the real internet photos for the small CPU networks
# (ssidkd_teacher-c12-u4_* and its students).
_base_ = ['./ssidkd_niqe_real-internet.py']

model = dict(generator=dict(channels=(12, 16, 24), num_units=(4, 2, 1)))
