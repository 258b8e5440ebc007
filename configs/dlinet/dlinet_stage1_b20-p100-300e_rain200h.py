# DLINet stage 1 (joint training), official recipe on Rain200H
# (1800 pairs): batches of 20 patches of 100x100 (cropped to 96x96),
# horizontal flips, Adam 2e-4, 300 epochs, lr halved at epochs
# 100/150/200/250. Validation PSNR of stage 1 is an oracle (the detector sees
# the clean image).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dlinet.py',
    '../_base_/datasets/rain200h_train.py',
    '../_base_/datasets/rain200h_test.py',
    '../_base_/schedules/adam_ms-100-150-200-250_300e.py',
]

# official epoch: repeat = 1000 // (1800 // 20) = 11 passes over the set
train_dataloader = dict(batch_size=20, dataset=dict(times=11))
