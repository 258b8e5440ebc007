# A short VRGNet joint run for CPU learning evidence (see README.md): the
# official networks and objective, batches of 8 (official 18), 2,000
# iterations (400 derainer/generator steps; official 2.1M), rain sample
# grids every 250 iterations in <work_dir>/rain_samples/.
_base_ = ['./vrgnet_b18-p64-2100k_rain100l.py']

train_dataloader = dict(batch_size=8, num_workers=2)
param_scheduler = dict(milestones=[1500])
train_cfg = dict(max_iters=2000, val_interval=2000)
default_hooks = dict(
    checkpoint=dict(interval=1000, max_keep_ckpts=2), logger=dict(interval=50))
custom_hooks = [dict(type='RainSampleHook', interval=250, num=8)]
