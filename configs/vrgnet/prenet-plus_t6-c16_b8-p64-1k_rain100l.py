# "PReNet+" side of the short CPU comparison: the same run as
# prenet_t6-c16_b8-p64-1k_rain100l.py plus the VRGNet rain-augmentation
# fragment (6 real + 2 generated pairs per batch of 8). Second stage: it
# reads the generator of the short CPU VRGNet run (run it first; see
# README.md) projects/vrgnet_rain_generation/configs/
# vrgnet-warm-kaiming_b8-p64-3k_rain100l.py. Any other generator:
#   --cfg-options custom_hooks.0.checkpoint=PATH
_base_ = [
    './prenet_t6-c16_b8-p64-1k_rain100l.py',
    '../_base_/augment/vrgnet_rain100l.py',
]

custom_hooks = [
    dict(
        type='RainAugmentHook',
        checkpoint='work_dirs/vrgnet-warm-kaiming_b8-p64-3k_rain100l/'
        'iter_3000.pth',
        fake_ratio=0.5)
]
