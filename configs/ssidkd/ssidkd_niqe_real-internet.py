# Test config: NIQE (MATLAB niqe_release, no reference) of any SSID-KD
# checkpoint on the 147 real rainy internet photos:
#   python tools/test.py configs/ssidkd/ssidkd_niqe_real-internet.py CKPT
# Photos with a side over 1024 pixels (4 of 147, up to 2848x4288) are
# derained in 1024x1024 tiles: whole, the largest needs about 20 GB even
# for the small CPU network.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/ssidkd.py',
    '../_base_/datasets/real_internet_test.py',
]

model = dict(test_cfg=dict(tile=1024, tile_overlap=32))
