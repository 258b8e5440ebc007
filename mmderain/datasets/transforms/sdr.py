# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's stochastic derained references (SDRs) as training targets.

The samples of :class:`~mmderain.datasets.SDRDataset` carry the paths of
their stored SDRs (``sdr_paths``) and/or of their LDGP mask
(``ldgp_path``). These transforms turn them into targets:

- :class:`PickSDR`: one stored SDR, drawn per sample, becomes the target
  (loaded by the next ``LoadImageFromFile(key='gt')``), as the official
  transductive training does;
- :class:`LoadSDRs`: all stored SDRs of the image (per-image training);
- :class:`GenerateSDRs`: the SDRs made on the fly by the NSS op from the
  loaded rainy image and its mask (the online variant), all of them or one
  drawn per sample.
"""
import random

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmderain.registry import TRANSFORMS
from .loading import LoadImageFromFile, read_image

_PICKS = ('all', 'random')


@TRANSFORMS.register_module()
class PickSDR(BaseTransform):
    """Draw one stored SDR per sample as the training target.

    The index is drawn uniformly with Python's ``random`` (seeded per
    worker by MMEngine's ``randomness``), as the official
    ``RainAllDataset`` does. It sets ``[key]_path`` so that a following
    ``LoadImageFromFile(key=key)`` loads it.

    Required Keys: ``sdr_paths``. Added Keys: ``[key]_path``,
    ``sdr_index``.

    Args:
        key (str): The target key. Defaults to ``'gt'``.
    """

    def __init__(self, key: str = 'gt') -> None:
        self.key = key

    def transform(self, results: dict) -> dict:
        paths = results.get('sdr_paths')
        if not paths:
            raise KeyError(f'PickSDR: sample {results.get("img_path")} has no '
                           'sdr_paths; use SDRDataset with sdr_dir')
        index = random.randrange(len(paths))
        results[f'{self.key}_path'] = paths[index]
        results['sdr_index'] = index
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(key={self.key!r})'


@TRANSFORMS.register_module()
class LoadSDRs(BaseTransform):
    """Load all stored SDRs of the sample (k = 0, 1, ...).

    Required Keys: ``sdr_paths``, ``img`` (their size is checked against
    it). Added Keys: ``sdrs``, a list of HxWxC uint8 arrays, which
    ``PackInputs(data_keys=['sdrs'])`` stacks into a (num, C, H, W)
    tensor.

    Args:
        channel_order (str): ``'rgb'`` or ``'bgr'``, that of ``img``.
            Defaults to ``'rgb'``.
    """

    def __init__(self, channel_order: str = 'rgb') -> None:
        self.loader = LoadImageFromFile(key='sdr', channel_order=channel_order)

    def transform(self, results: dict) -> dict:
        paths = results.get('sdr_paths')
        if not paths:
            raise KeyError(
                f'LoadSDRs: sample {results.get("img_path")} has no '
                'sdr_paths; use SDRDataset with sdr_dir')
        shape = results['img'].shape
        sdrs = []
        for path in paths:
            sdr = self.loader._load_image(path)
            if sdr.shape != shape:
                raise ValueError(
                    f'SDR {path} is {sdr.shape[1]}x{sdr.shape[0]}, its rainy '
                    f'image {results.get("img_path")} is '
                    f'{shape[1]}x{shape[0]}')
            sdrs.append(sdr)
        results['sdrs'] = sdrs
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'channel_order={self.loader.channel_order!r})')


@TRANSFORMS.register_module()
class GenerateSDRs(BaseTransform):
    """Make the SDRs on the fly with the NSS op (the online variant).

    The sample's LDGP mask (``ldgp_path``) is read as 8-bit grey, and
    :func:`mmderain.ops.nss` replaces the rain pixels of the loaded uint8
    rainy image. NSS treats the channels alike, so the image's channel
    order does not matter. The defaults are those of the official online
    variant (``generateSDR_multiple.py``: eta 1); ``eta=0.5`` gives the
    references of ``tools/rain2avoid/nss.py``.

    Required Keys: ``img`` (uint8), ``ldgp_path``. Added Keys: ``sdrs``
    (``pick='all'``: a list of ``num`` HxWxC arrays) or ``[key]`` and
    ``sdr_index`` (``pick='random'``: one of them, drawn per sample).

    Args:
        num (int): References made. Defaults to 50.
        eta (float): Exponent of the patch distance in the sampling
            weights. Defaults to 1.0 (online variant).
        threshold (int): Mask values above it are replaced. Defaults to
            10.
        window (int): Candidate window K. Defaults to 7.
        sim_window (int): Initial similarity window k. Defaults to 3.
        seed (int): Seed of the shared uniforms. Defaults to 0.
        pick (str): ``'all'`` or ``'random'``. Defaults to ``'all'``.
        key (str): Target key for ``pick='random'``. Defaults to ``'gt'``.
    """

    def __init__(self,
                 num: int = 50,
                 eta: float = 1.0,
                 threshold: int = 10,
                 window: int = 7,
                 sim_window: int = 3,
                 seed: int = 0,
                 pick: str = 'all',
                 key: str = 'gt') -> None:
        if pick not in _PICKS:
            raise ValueError(f'pick must be one of {_PICKS}, got {pick!r}')
        self.nss_args = dict(
            num=num,
            eta=eta,
            threshold=threshold,
            window=window,
            sim_window=sim_window,
            seed=seed)
        self.pick, self.key = pick, key

    def transform(self, results: dict) -> dict:
        from mmderain.ops import nss  # the op imports its compiled kernel
        img, path = results['img'], results.get('ldgp_path')
        if path is None:
            raise KeyError(
                f'GenerateSDRs: sample {results.get("img_path")} has no '
                'ldgp_path; use SDRDataset with ldgp_dir')
        mask = read_image(path, cv2.IMREAD_GRAYSCALE)
        if mask.shape != img.shape[:2]:
            raise ValueError(
                f'LDGP mask {path} is {mask.shape[1]}x{mask.shape[0]}, its '
                f'rainy image {results.get("img_path")} is '
                f'{img.shape[1]}x{img.shape[0]}')
        if img.dtype != np.uint8:
            raise TypeError('GenerateSDRs needs the uint8 rainy image (load '
                            f'it without to_float32), got {img.dtype}')
        sdrs = nss(img, mask, **self.nss_args)
        if self.pick == 'all':
            results['sdrs'] = list(sdrs)
        else:
            index = random.randrange(len(sdrs))
            results[self.key] = sdrs[index]
            results['sdr_index'] = index
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.nss_args.items())
        return f'{self.__class__.__name__}({args}, pick={self.pick!r})'
