# Copyright (c) mmderain contributors. All rights reserved.
"""NIQE as an MMEngine metric: scores predictions without ground truth.

The score is :func:`mmderain.evaluation.niqe.calculate_niqe` (MATLAB
``niqe_release``'s ``computequality``: ``rgb2gray``, 96x96 blocks, the
official pristine model). mmagic's ``NIQE`` metric (``type='NIQE'``,
mmagic 1.2.0) is not usable for that:

* its ``process`` reads ``gt_img`` from every sample (``obtain_data``
  raises ``KeyError: 'Mapping key was not found'`` on a test set without
  ground truth), although NIQE never uses it; its ``key`` and
  ``is_predicted`` arguments are ignored;
* it takes the image as HWC (``input_order``) while data samples hold CHW
  tensors, so ``pred_img`` fails in ``cv2.cvtColor``;
* its 'gray' is OpenCV's, not MATLAB's ``rgb2gray`` (see
  :mod:`mmderain.evaluation.niqe`).
"""
from typing import Any, Optional, Sequence

import numpy as np

from mmderain.registry import METRICS
from ..niqe import _check_convert_to, calculate_niqe
from .psnr_ssim import (BaseSampleWiseMetric, _describe_sample, _lookup,
                        _MatlabMetric, _sample_name, _size, _to_hwc_numpy)

__all__ = ['MatlabNIQE']


@METRICS.register_module()
class MatlabNIQE(_MatlabMetric):
    """NIQE of MATLAB ``niqe_release`` (no reference; lower is better).

    The metric is named 'NIQE'; the per-image values are kept as
    :attr:`per_image` (``tools/test.py --out`` writes them), named by the
    sample's ``key`` (or image file name).

    Args:
        pred_key (str): Key of the scored image, looked up at the top level
            of the data sample and then under ``output``.
            Default: 'pred_img'.
        crop_border (int): Pixels removed on every side. Default: 0.
        convert_to (str): 'gray' (MATLAB ``rgb2gray``, what
            ``computequality`` does) or 'Y' (rounded Y of MATLAB
            ``rgb2ycbcr``). Default: 'gray'.
        channel_order (str): Channel order of the images in the data
            samples, 'RGB' or 'BGR' (mmagic's ``DataPreprocessor.destruct``
            gives BGR). Default: 'BGR'.
        collect_device (str): Device for collecting results across ranks,
            'cpu' or 'gpu'. Default: 'cpu'.
        prefix (str, optional): Prefix added to the metric name by the
            evaluator. Default: None.
    """

    metric = 'NIQE'

    def __init__(self,
                 pred_key: str = 'pred_img',
                 crop_border: int = 0,
                 convert_to: str = 'gray',
                 channel_order: str = 'BGR',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        BaseSampleWiseMetric.__init__(
            self,
            pred_key=pred_key,
            collect_device=collect_device,
            prefix=prefix)
        self.crop_border = crop_border
        self.convert_to = _check_convert_to(convert_to)
        self.channel_order = channel_order
        # fail at construction time on bad arguments, not mid-evaluation
        calculate_niqe(
            np.zeros((2 * crop_border + 96, 2 * crop_border + 192, 3)),
            crop_border, self.convert_to, channel_order)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score every sample's ``pred_key`` image into ``results``.

        Each entry of ``self.results`` is ``{'NIQE': value, 'name': sample
        name or None}``.

        Args:
            data_batch (Any): The data batch (unused).
            data_samples (Sequence[dict]): ``DataSample.to_dict()`` outputs
                holding a ``pred_key`` image in [0, 255] (CHW tensor, or
                HWC/CHW array); ground truth is not needed.

        Raises:
            KeyError: If a sample has no ``pred_key`` image.
            ValueError: If an image is not one CHW/HWC image or is too
                small (fewer than two 96x96 blocks); the message names the
                sample's ``key``/``img_path`` and the size.
        """
        for sample in data_samples:
            img = None
            try:
                img = _to_hwc_numpy(
                    _lookup(sample, self.pred_key), self.pred_key)
                value = calculate_niqe(img, self.crop_border, self.convert_to,
                                       self.channel_order)
            except (TypeError, ValueError) as err:
                size = '' if img is None else f' {_size(img)} (HxWxC)'
                raise type(err)(
                    f'{self.metric} of {_describe_sample(sample)}, '
                    f'{self.pred_key}{size}: {err}') from err
            self.results.append({
                self.metric: value,
                'name': _sample_name(sample)
            })
