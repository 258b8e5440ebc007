# DLINet stage 2 (task-oriented training, the deployed model), official
# recipe on Rain100L (200 pairs): the rainy-only detector learns the binary
# masks of the frozen stage-1 detector (1e4 * BCE) while the whole network is
# trained with MSE; estimation and fusion start from stage 1. Batches of 16.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dlinet_stage2.py',
    '../_base_/datasets/rain100l_train.py',
    '../_base_/datasets/rain100l_test.py',
    '../_base_/schedules/adam_ms-100-150-200-250_300e.py',
]

# official epoch: repeat = 1000 // (200 // 16) = 83 passes over the set
train_dataloader = dict(batch_size=16, dataset=dict(times=83))

# the last stage-1 epoch (a work dir is also accepted: its last_checkpoint)
stage1_checkpoint = ('work_dirs/dlinet_stage1_b20-p100-300e_rain100l/'
                     'epoch_300.pth')
custom_hooks = [
    dict(
        type='LoadStageCheckpointHook',
        checkpoint=stage1_checkpoint,
        init_prefixes=('rain_estimate.', 'fusion.'))
]
