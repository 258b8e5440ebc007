# Copyright (c) mmderain contributors. All rights reserved.
"""MMEngine metrics for the deraining field's MATLAB PSNR / SSIM protocol.

Protocol (see :mod:`mmderain.evaluation.functional`): images are taken as
``im2double`` (value / 255, no re-quantisation), converted with MATLAB
``rgb2ycbcr`` to an unrounded float64 Y channel, PSNR is
``10 * log10(1 / mse)`` and SSIM is Zhou Wang's ``ssim_index.m`` on
``Y * 255`` (11x11 Gaussian window, sigma 1.5, ``'valid'`` filtering).
Per-image values are averaged over the test set, as the MATLAB scripts do.

How mmagic's ``PSNR`` / ``SSIM`` differ (mmagic 1.2.0,
``mmagic/evaluation/metrics/{psnr,ssim,metrics_utils}.py``):

* ``convert_to`` defaults to ``None`` there: PSNR/SSIM over the three
  channels, which is not the field's Y protocol (on Rain100L ``norain-1``
  rainy vs GT: 25.97 dB instead of 27.30 dB). Here it defaults to 'Y'.
* With ``convert_to='Y'`` the Y formula is the same BT.601 one
  (``mmcv.bgr2ycbcr(img / 255., y_only=True) * 255.``), unrounded, but
  ``img_transform`` works in **float32**: PSNR is computed entirely in
  float32, SSIM filters in float64 (``to_numpy``) a float32 Y. The gap to
  this float64 implementation is float32 rounding only: about 1e-6 dB PSNR
  and 1e-9 SSIM on real pairs.
* mmagic's SSIM uses ``cv2.filter2D`` (reflect-101 padding) with
  ``cv2.getGaussianKernel(11, 1.5)`` and crops 5 pixels per side, which is
  ``'valid'`` filtering; constants and map averaging are the same.
* mmagic's base class hard-codes ``channel_order = 'BGR'`` (right for its
  ``DataPreprocessor.destruct`` outputs); here it is an argument.
* mmagic reads the prediction only from ``data_sample['output'][pred_key]``;
  these metrics accept it there or at the top level.
* Neither re-quantises: scores of a float model output differ from scores
  of the same output saved as 8-bit PNG and evaluated in MATLAB.

The measured gaps are recorded in ``docs/metrics.md`` and asserted in
``tests/test_evaluation/test_psnr_ssim.py``.
"""
import os.path as osp
from typing import Any, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmderain.registry import METRICS
from mmderain.utils.imports import quiet_mmagic_import
from ..functional import calculate_psnr, calculate_ssim

with quiet_mmagic_import():
    from mmagic.evaluation.metrics.base_sample_wise_metric import \
        BaseSampleWiseMetric

__all__ = ['MatlabPSNR', 'MatlabSSIM']


def _to_hwc_numpy(img: Any, name: str) -> np.ndarray:
    """Convert an image from a data sample to a float64 HWC numpy array.

    Torch tensors are CHW (mmagic's convention; a leading batch dimension of
    size 1 is dropped). Numpy arrays may be HWC or
    CHW; a 3-D array is taken as CHW only when its first dimension is 1 or 3
    and its last is not.

    Args:
        img (torch.Tensor | np.ndarray): CHW tensor, or HWC/CHW array, with
            values in [0, 255].
        name (str): Key name used in error messages.

    Returns:
        np.ndarray: float64 array of shape (H, W, C).

    Raises:
        TypeError: If ``img`` is neither a tensor nor an array.
        ValueError: If ``img`` is not 2-D or 3-D.
    """
    if isinstance(img, torch.Tensor):
        arr = img.detach().cpu().to(torch.float64).numpy()
        if arr.ndim == 4 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim == 3:
            arr = arr.transpose(1, 2, 0)
    elif isinstance(img, np.ndarray):
        arr = img.astype(np.float64)
        if (arr.ndim == 3 and arr.shape[0] in (1, 3)
                and arr.shape[2] not in (1, 3)):
            arr = arr.transpose(1, 2, 0)
    else:
        raise TypeError(f'{name} must be a torch.Tensor or np.ndarray, '
                        f'got {type(img).__name__}.')
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f'{name} must be a single CHW/HWC image, '
                         f'got shape {tuple(arr.shape)}.')
    return arr


def _lookup(data_sample: dict, key: str) -> Any:
    """Find ``key`` in a data sample dict, top level first, then ``output``.

    Args:
        data_sample (dict): ``DataSample.to_dict()`` of one sample.
        key (str): Key to look up, e.g. 'pred_img'.

    Returns:
        Any: The stored value.

    Raises:
        KeyError: If ``key`` is in neither place.
    """
    if key in data_sample:
        return data_sample[key]
    output = data_sample.get('output')
    if isinstance(output, dict) and key in output:
        return output[key]
    raise KeyError(f'{key!r} not found in the data sample (looked at the top '
                   f'level and under "output"); keys: {sorted(data_sample)}.')


def _sample_name(data_sample: dict) -> Optional[str]:
    """Name identifying a sample: its ``key`` or the ``gt_path`` basename.

    Args:
        data_sample (dict): ``DataSample.to_dict()`` of one sample.

    Returns:
        str | None: The name, or None if the sample carries none.
    """
    for field in ('key', 'gt_path', 'img_path'):
        value = data_sample.get(field)
        if isinstance(value, str):
            return value if field == 'key' else osp.basename(value)
    return None


def _describe_sample(data_sample: dict) -> str:
    """The files (and key) of a sample, for error messages.

    Args:
        data_sample (dict): ``DataSample.to_dict()`` of one sample.

    Returns:
        str: E.g. ``'img_path=rain/1.png, gt_path=norain/1.png'``, or a
        note that the sample carries no name.
    """
    parts = [
        f'{field}={data_sample[field]}'
        for field in ('key', 'img_path', 'gt_path')
        if isinstance(data_sample.get(field), str)
    ]
    return ', '.join(parts) or 'a sample without key, img_path or gt_path'


def _size(img: np.ndarray) -> str:
    """``HxWxC`` of an HWC image."""
    return 'x'.join(str(d) for d in img.shape)


class _MatlabMetric(BaseSampleWiseMetric):
    """Shared logic of :class:`MatlabPSNR` and :class:`MatlabSSIM`.

    Args:
        gt_key (str): Key of the ground truth in a data sample.
            Default: 'gt_img'.
        pred_key (str): Key of the prediction, looked up at the top level of
            the data sample and then under ``output``. Default: 'pred_img'.
        crop_border (int): Pixels removed on every side. Default: 0.
        convert_to (str | None): 'Y' (MATLAB ``rgb2ycbcr``) or None (all
            channels). Default: 'Y'.
        channel_order (str): Channel order of the images in the data samples,
            'RGB' or 'BGR'. mmagic's ``DataPreprocessor.destruct`` gives BGR.
            Default: 'BGR'.
        collect_device (str): Device for collecting results across ranks,
            'cpu' or 'gpu'. Default: 'cpu'.
        prefix (str, optional): Prefix added to the metric names by the
            evaluator. Default: None.
    """

    metric: str = ''
    # no prefix unless configured: results are named 'PSNR'/'SSIM'
    default_prefix: Optional[str] = ''

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 crop_border: int = 0,
                 convert_to: Optional[str] = 'Y',
                 channel_order: str = 'BGR',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            gt_key=gt_key,
            pred_key=pred_key,
            collect_device=collect_device,
            prefix=prefix)
        self.crop_border = crop_border
        self.convert_to = convert_to
        self.channel_order = channel_order
        # Fail at construction time on bad arguments, not mid-evaluation.
        dummy = np.zeros((2 * crop_border + 11, 2 * crop_border + 11, 3))
        self._compute(dummy, dummy)

    def _compute(self, gt: np.ndarray, pred: np.ndarray) -> float:
        """Metric value of one HWC image pair (implemented by subclasses)."""
        raise NotImplementedError

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Compute the metric of every sample and store it in ``results``.

        Each entry of ``self.results`` is a dict ``{metric: value, 'name':
        sample name or None}``.

        Args:
            data_batch (Any): The data batch (unused).
            data_samples (Sequence[dict]): ``DataSample.to_dict()`` outputs
                holding ``gt_key`` and ``pred_key`` images in [0, 255]
                (CHW tensors, or HWC/CHW arrays).

        Raises:
            ValueError: If an image is not one CHW/HWC image, the two
                differ in size or are too small for the metric; the message
                names the sample's ``key``/``img_path``/``gt_path`` and both
                sizes.
        """
        for sample in data_samples:
            try:
                gt = _to_hwc_numpy(_lookup(sample, self.gt_key), self.gt_key)
                pred = _to_hwc_numpy(
                    _lookup(sample, self.pred_key), self.pred_key)
            except (TypeError, ValueError) as err:
                raise type(err)(f'{self.metric} of {_describe_sample(sample)}'
                                f': {err}') from err
            try:
                value = self._compute(gt, pred)
            except ValueError as err:
                raise ValueError(
                    f'{self.metric} of {_describe_sample(sample)}: ground '
                    f'truth {self.gt_key} {_size(gt)}, prediction '
                    f'{self.pred_key} {_size(pred)} (HxWxC): {err}') from err
            self.results.append({
                self.metric: value,
                'name': _sample_name(sample)
            })

    def compute_metrics(self, results: List[dict]) -> dict:
        """Average the per-image values.

        Args:
            results (list[dict]): Entries written by :meth:`process`.

        Returns:
            dict: ``{metric: mean of the per-image values}``. The per-image
            values stay available as :attr:`per_image`, a list of
            ``(name, value)`` in evaluation order (``tools/test.py --out``
            writes them).
        """
        values = [r[self.metric] for r in results]
        self.per_image = [(r['name'], float(r[self.metric])) for r in results]
        return {self.metric: float(np.mean(values))}

    def evaluate(self, size: Optional[int] = None) -> dict:
        """Average over the dataset, under MMEngine's or mmagic's loops.

        MMEngine's evaluator passes the dataset ``size``; mmagic's
        ``MultiTestLoop``/``MultiValLoop`` call :meth:`prepare` (which
        records it) and pass nothing.

        Args:
            size (int, optional): Number of samples of the dataset.

        Returns:
            dict: The metric averaged over the dataset.
        """
        if size is None:
            size = getattr(self, 'size', len(self.results))
        return BaseMetric.evaluate(self, size)


@METRICS.register_module()
class MatlabPSNR(_MatlabMetric):
    """PSNR of the deraining MATLAB protocol (peak 1 on ``im2double``).

    Arguments are those of :class:`_MatlabMetric`; the metric name is
    'PSNR'. Identical images give ``inf`` (as MATLAB does), which makes the
    mean ``inf``.
    """

    metric = 'PSNR'

    def _compute(self, gt: np.ndarray, pred: np.ndarray) -> float:
        """PSNR of one HWC pair in [0, 255]."""
        return calculate_psnr(gt, pred, self.crop_border, self.convert_to,
                              self.channel_order)


@METRICS.register_module()
class MatlabSSIM(_MatlabMetric):
    """SSIM of the deraining MATLAB protocol (Wang's ``ssim_index.m``).

    Arguments are those of :class:`_MatlabMetric`; the metric name is
    'SSIM'.
    """

    metric = 'SSIM'

    def _compute(self, gt: np.ndarray, pred: np.ndarray) -> float:
        """SSIM of one HWC pair in [0, 255]."""
        return calculate_ssim(gt, pred, self.crop_border, self.convert_to,
                              self.channel_order)
