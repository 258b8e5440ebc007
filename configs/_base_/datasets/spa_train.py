# SPA-Data training set (Wang et al. 2019, SPANet): 638,492 real rainy/clean
# pairs listed in real_world.txt as `rainy_path clean_path` lines
# (real_world/... and real_world_gt/..., relative to the data root).
_base_ = './paired_train.py'

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            _delete_=True,
            type='IndexFileDataset',
            data_root='data/spa/train',
            ann_file='real_world.txt',
            # 1.3 million stat calls otherwise; missing files fail on load
            check_files=False,
            pipeline={{_base_.train_pipeline}})))
