# Per-image SDRL with the official ResNet backbone (torchvision resnet18
# encoder, random init, transposed-conv decoder with additive skips); sides
# padded to multiples of 32.
_base_ = './sdrl-unet_per-image_100e_rain100l.py'

model = dict(generator=dict(_delete_=True, type='R2AResNet'), pad_multiple=32)
