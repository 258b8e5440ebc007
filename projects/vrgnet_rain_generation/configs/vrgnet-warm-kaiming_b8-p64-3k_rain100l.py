# Run "Kaiming" (see ../README.md): vrgnet-warm_b8-p64-3k_rain100l.py (BNet
# from the converted official syn100l weights) with three non-official
# changes that make G learn rain within a CPU session:
#   * G's transposed convolutions start Kaiming-normal (the official
#     N(0, 0.02) makes its output independent of z for a long time),
#   * Adam betas (0.5, 0.999) for RNet + G and the critic, G's lr 2e-4,
#   * n_dis = 2 (a generator-side step every second iteration).
# Its iter_3000.pth is the generator of the short CPU PReNet+ recipe
# (configs/vrgnet/prenet-plus_t6-c16_b8-p64-1k_rain100l.py).
# Make the checkpoint first:
#   python tools/convert/vrgnet.py \
#       ../shared/data/checkpoints_official/vrgnet/DerainNet_syn100l.pt \
#       work_dirs/converted/vrgnet-derainer_syn100l.pth
_base_ = ['./vrgnet-warm_b8-p64-3k_rain100l.py']

custom_imports = dict(
    imports=['projects.vrgnet_rain_generation.models'],
    allow_failed_imports=False)
model = dict(
    n_dis=2,
    init_cfg=[
        dict(type='VRGNetOfficialInit', modules=('generator', 'rain_encoder')),
        dict(type='VRGNetKaimingInit', modules=('rain_generator', )),
    ])
optim_wrapper = dict(
    rain=dict(optimizer=dict(lr=2e-4, betas=(0.5, 0.999))),
    critic=dict(optimizer=dict(betas=(0.5, 0.999))))
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=6))
