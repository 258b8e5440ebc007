# Real rainy photos without ground truth (the 147 internet images of
# SSID-KD/Rain2Avoid, data/real_internet), full images, scored with the
# no-reference NIQE of MATLAB's niqe_release (MatlabNIQE: rgb2gray, 96x96
# blocks, the official pristine model; lower is better). PSNR/SSIM need `gt`
# and cannot be computed. Test only: there is no val_dataloader.
_base_ = './real_internet_unpaired.py'

test_dataloader = {{_base_.unpaired_test_dataloader}}
test_evaluator = [dict(type='MatlabNIQE')]
test_cfg = dict(type='MultiTestLoop')
