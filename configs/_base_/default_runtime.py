# Runtime shared by every mmderain config.
default_scope = 'mmderain'
save_dir = './work_dirs'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # checkpoints are written atomically (mmderain.utils.AtomicLocalBackend);
    # SafeCheckpointHook removes old ones only after the new one is written
    checkpoint=dict(
        type='SafeCheckpointHook',
        interval=1,
        by_epoch=True,
        max_keep_ckpts=3,
        save_optimizer=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # a NaN/inf loss skips no more than max_skips steps in a row, then stops
    nonfinite=dict(type='NonFiniteLossHook', max_skips=0),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo when CUDA is absent
    dist_cfg=dict(backend='nccl'),
)

log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='ConcatImageVisualizer',
    vis_backends=vis_backends,
    fn_key='gt_path',
    img_keys=['gt_img', 'input', 'pred_img'],
    bgr2rgb=True)
# no `custom_hooks` here: `_base_` fragments (e.g. _base_/augment/*.py) add
# them, and keys may not repeat across bases

load_from = None
# model key prefixes a warm start (load_from) may lack; loads are strict
load_from_allow_missing = []
resume = False
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
