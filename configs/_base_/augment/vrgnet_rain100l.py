# VRGNet rain augmentation ("A+"): a trained VRGNet rain generator mixes
# generated pairs clamp(B + G(z)) into every training batch (12 real + 6
# generated of 18). Add this fragment to any derainer config trained on
# 64x64 patches; point `checkpoint` at your VRGNet run (or at official ED
# weights converted with tools/convert/vrgnet.py).
custom_hooks = [
    dict(
        type='RainAugmentHook',
        checkpoint='work_dirs/vrgnet_b18-p64-2100k_rain100l/iter_2100000.pth',
        fake_ratio=0.5)
]
