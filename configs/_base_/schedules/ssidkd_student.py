# SSID-KD student schedule (official train_<D>_real.py): Adam 1e-4,
# constant (the scheduler is commented out), `epoch * N / batch` steps of
# one batch of synthetic pairs and one of real photos, 128x128 crops.
# Dataset configs set max_iters.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = []  # constant
train_cfg = dict(type='IterBasedTrainLoop', max_iters=9_000, val_interval=900)
