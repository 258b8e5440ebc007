# BRN, official recipe (csdwren/RecDerain train.py): 8 recurrent iterations,
# batch 12 of 100x100 patches, negative SSIM on the final background, Adam
# 1e-3, 100 epochs with lr x0.2 at epochs 30/50/80, Rain100L.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/datasets/rain100l_train.py',
    '../_base_/datasets/rain100l_test.py',
    '../_base_/schedules/adam_ms-30-50-80_100e.py',
]

model = dict(
    type='BaseDerainer',
    generator=dict(type='BRN', num_iters=8, mid_channels=32),
    # official loss: -SSIM(target, out) (pytorch_ssim, 11x11 Gaussian)
    pixel_loss=dict(type='SSIMLoss'),
    # the official test script saves uint8(255 * clamp(out, 0, 1)):
    # truncation. Keep it to reproduce the published numbers.
    test_cfg=dict(quantize='trunc'),
    data_preprocessor=dict(
        type='DerainDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        output_channel_order='RGB'))

# One epoch = 24 random 100x100 patches (with horizontal flips) per image:
# the 4,800 fixed patches of the official data preparation (200 pairs, each
# also flipped, 12 patches at stride 100), i.e. 400 iterations of 12.
train_dataloader = dict(batch_size=12, dataset=dict(times=24))
