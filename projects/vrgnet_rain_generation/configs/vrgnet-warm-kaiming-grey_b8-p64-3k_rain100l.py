# Runs G and H (see ../README.md): vrgnet-warm-kaiming_b8-p64-3k_rain100l.py
# (Kaiming-initialised G, Adam betas 0.5, G's lr 2e-4, n_dis 2; run H) with
# the generator's three output channels tied after initialisation
# (GreyRainInit), so that its first samples are grey. Run G is this config
# with the official optimiser settings (see ../README.md).
# Make the checkpoint first:
#   python tools/convert/vrgnet.py \
#       ../shared/data/checkpoints_official/vrgnet/DerainNet_syn100l.pt \
#       work_dirs/converted/vrgnet-derainer_syn100l.pth
_base_ = ['./vrgnet-warm-kaiming_b8-p64-3k_rain100l.py']

model = dict(init_cfg=[
    dict(type='VRGNetOfficialInit', modules=('generator', 'rain_encoder')),
    dict(type='VRGNetKaimingInit', modules=('rain_generator', )),
    dict(type='GreyRainInit'),
])
