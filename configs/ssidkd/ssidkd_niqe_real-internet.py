# Test config: NIQE (MATLAB niqe_release, no reference) of any SSID-KD
# checkpoint on the 147 real rainy internet photos, full images:
#   python tools/test.py configs/ssidkd/ssidkd_niqe_real-internet.py CKPT
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd.py',
    '../_base_/datasets/real_internet_test.py',
]
