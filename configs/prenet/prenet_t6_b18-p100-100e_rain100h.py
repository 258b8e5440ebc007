# PReNet, official recipe: 6 stages, batch 18 of 100x100 patches, Adam 1e-3,
# 100 epochs with lr x0.2 at epochs 30/50/80, Rain100H.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/prenet.py',
    '../_base_/datasets/rain100h_train.py',
    '../_base_/datasets/rain100h_test.py',
    '../_base_/schedules/adam_ms-30-50-80_100e.py',
]
