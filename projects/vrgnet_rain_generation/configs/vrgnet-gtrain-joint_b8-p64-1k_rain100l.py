# Stage 2 of the two-stage recipe (see ../README.md, "Two stages"): all four
# networks train together, starting from stage 1
# (vrgnet-gtrain-ndiv_b8-p64-4k_rain100l.py: the rain side trained on the
# ground-truth rain layers next to the frozen official derainer).
#   * the derainer (BNet) trains again, on the official KL_b with its
#     official optimiser (Adam, lr 2e-4, default betas),
#   * the critic's real rain is now the derainer's estimate max(O - mu_b, 0)
#     (RainCriticInput; mu_b detached), so the rain side no longer needs
#     the ground truth B,
#   * RNet + G and the critic keep stage 1's optimisers, n_dis 1 and the
#     normalised diversity term.
# Run stage 1 first (its iter_4000.pth is loaded: all four networks; the
# optimiser states start afresh).
_base_ = ['./vrgnet-gtrain-ndiv_b8-p64-4k_rain100l.py']

load_from = 'work_dirs/vrgnet-gtrain-ndiv_b8-p64-4k_rain100l/iter_4000.pth'
load_from_allow_missing = []  # stage 1's checkpoint holds every network
model = dict(train_derainer=True, critic_input=dict(type='RainCriticInput'))
optim_wrapper = dict(
    generator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4)))
param_scheduler = dict(milestones=[1000])
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=250))
custom_hooks = [dict(type='RainSampleHook', interval=250, num=8)]
