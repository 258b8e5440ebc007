# Run (b) (see ../README.md): vrgnet-fixedbnet-kaiming_b8-p64-6k_rain100l.py
# with the critic on rain layers: it compares the derainer's rain estimates
# max(O - mu_b, 0) with G(z) instead of O with mu_b + G(z) (not official),
# 3,000 iterations.
# Make the checkpoint first:
#   python tools/convert/vrgnet.py \
#       ../shared/data/checkpoints_official/vrgnet/DerainNet_syn100l.pt \
#       work_dirs/converted/vrgnet-derainer_syn100l.pth
_base_ = ['./vrgnet-fixedbnet-kaiming_b8-p64-6k_rain100l.py']

model = dict(critic_input=dict(type='RainCriticInput'))
param_scheduler = dict(milestones=[2500])
train_cfg = dict(max_iters=3000, val_interval=3000)
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=6))
custom_hooks = [dict(type='RainSampleHook', interval=250, num=8)]
