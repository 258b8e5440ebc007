# SSID-KD teacher on Rain200L (1,800 pairs; official train_Rain200L.py):
# 78,000 iterations at batch 12, lr 5e-4 halved at 46,800 and 62,400.
_base_ = ['./ssidkd_teacher_b12-p120-78k_rain200h.py']

train_dataloader = dict(
    dataset=dict(dataset=dict(data_root='data/rain200l/train')))
val_dataloader = dict(dataset=dict(data_root='data/rain200l/test'))
test_dataloader = val_dataloader
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        milestones=[46_800, 62_400],
        gamma=0.5)
]
