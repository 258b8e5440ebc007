# DLINet stage 2 (task-oriented training, the deployed model): the
# rainy-only HRNet detector is supervised by the binary masks of the frozen
# stage-1 detector (the teacher: the generator's architecture with
# stage='first', loaded by LoadStageCheckpointHook) with 1e4 * BCE, next to
# the MSE on the rain layer.
_base_ = './dlinet.py'

model = dict(
    generator=dict(stage='second'),
    mask_loss=dict(type='BinaryCrossEntropyLoss', loss_weight=1e4))
