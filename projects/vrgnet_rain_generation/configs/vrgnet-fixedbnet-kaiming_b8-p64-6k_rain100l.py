# Run (a) (see ../README.md): vrgnet-warm-kaiming_b8-p64-3k_rain100l.py with
# BNet frozen (train_derainer=False: no BNet backward) and twice the
# iterations. Only the encoder, the generator and the critic are trained, so
# there is no ``generator`` optimizer wrapper.
# Make the checkpoint first:
#   python tools/convert/vrgnet.py \
#       ../shared/data/checkpoints_official/vrgnet/DerainNet_syn100l.pt \
#       work_dirs/converted/vrgnet-derainer_syn100l.pth
_base_ = ['./vrgnet-warm-kaiming_b8-p64-3k_rain100l.py']

model = dict(train_derainer=False)
optim_wrapper = dict(
    _delete_=True,
    constructor='GroupedOptimWrapperConstructor',
    rain=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)),
        modules=('rain_encoder', 'rain_generator')),
    critic=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=4e-4, betas=(0.5, 0.999))))
param_scheduler = dict(milestones=[5000])
train_cfg = dict(max_iters=6000, val_interval=6000)
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=6))
custom_hooks = [dict(type='RainSampleHook', interval=500, num=8)]
