# Run "warm" (see ../README.md): the official joint objective, optimisers and
# initialisation of the small CPU recipe, but the derainer (BNet) starts from
# the converted official syn100l weights, so that from the first iteration
# the critic compares real rainy patches O with mu_b + G(z), mu_b ~ B, and
# the generator gets a rain signal instead of waiting for BNet to learn. The
# encoder, generator and critic start from scratch (official init).
# Make the checkpoint first:
#   python tools/convert/vrgnet.py \
#       ../shared/data/checkpoints_official/vrgnet/DerainNet_syn100l.pt \
#       work_dirs/converted/vrgnet-derainer_syn100l.pth
_base_ = ['../../../configs/vrgnet/vrgnet_b8-p64-2k_rain100l.py']

load_from = 'work_dirs/converted/vrgnet-derainer_syn100l.pth'
# the converted file holds the derainer (generator.*) only: the rain side
# starts from its initialisation (loads are strict otherwise)
load_from_allow_missing = ['rain_encoder.', 'rain_generator.', 'critic.']
param_scheduler = dict(milestones=[2500])
train_cfg = dict(max_iters=3000, val_interval=3000)
custom_hooks = [dict(type='RainSampleHook', interval=250, num=8)]
