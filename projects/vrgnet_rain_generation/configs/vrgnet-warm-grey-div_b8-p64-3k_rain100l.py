# Run OD (see ../README.md): the official objective, initialisation and
# optimisers of vrgnet-warm_b8-p64-3k_rain100l.py (BNet from the converted
# official syn100l weights), with two non-official additions against what
# the short official run learns (oriented streaks, but one faint pattern for
# every code):
#   * GreyRainInit: the generator's three output channels start tied,
#   * the diversity-sensitive term (Yang et al., ICLR 2019) in the
#     generator-side loss, weight 30, clipped at real rain's ratio.
# Make the checkpoint first:
#   python tools/convert/vrgnet.py \
#       ../shared/data/checkpoints_official/vrgnet/DerainNet_syn100l.pt \
#       work_dirs/converted/vrgnet-derainer_syn100l.pth
_base_ = ['./vrgnet-warm_b8-p64-3k_rain100l.py']

custom_imports = dict(
    imports=['projects.vrgnet_rain_generation.models'],
    allow_failed_imports=False)
model = dict(
    init_cfg=[dict(type='VRGNetOfficialInit'),
              dict(type='GreyRainInit')],
    extra_generator_losses=[
        dict(type='DiversitySensitiveLoss', loss_weight=30.0, tau=0.035)
    ])
default_hooks = dict(checkpoint=dict(interval=500, max_keep_ckpts=6))
