# SPA-Data test set (Wang et al. 2019): 1,000 real pairs listed in
# real_test_1000.txt as `rainy_path clean_path` lines (relative to the data
# root). For the Restormer-style copy with input/ and target/ folders use
# PairedImageDataset as in test100_test.py.
_base_ = './paired_test.py'

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='IndexFileDataset',
        data_root='data/spa/test',
        ann_file='real_test_1000.txt',
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
val_dataloader = test_dataloader
