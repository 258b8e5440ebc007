# Copyright (c) mmderain contributors. All rights reserved.
"""Timing and memory helpers shared by the benchmark scripts.

Every timing is the median of ``repeats`` timed calls (after ``warmup``
untimed ones), reported with its range: a :class:`Timing`.
"""
import statistics
import time
from typing import Callable, Dict, List, NamedTuple

import torch


class Timing(NamedTuple):
    """Median, fastest and slowest of ``runs`` timed calls (seconds)."""
    median: float
    min: float
    max: float
    runs: int

    @classmethod
    def of(cls, times: List[float]) -> 'Timing':
        """Summarise a non-empty list of wall times."""
        if not times:
            raise ValueError('no timed runs (repeats must be >= 1)')
        return cls(
            statistics.median(times), min(times), max(times), len(times))

    def as_dict(self, key: str) -> Dict[str, float]:
        """``{key}_s``, ``{key}_s_min`` and ``{key}_s_max``."""
        return {
            f'{key}_s': self.median,
            f'{key}_s_min': self.min,
            f'{key}_s_max': self.max
        }

    def ms(self) -> str:
        """``median (min-max) ms``."""
        return (f'{self.median * 1e3:9.2f} ms ({self.min * 1e3:.2f}-'
                f'{self.max * 1e3:.2f})')


def sync(device: torch.device) -> None:
    """Wait for queued CUDA work (no-op on other devices)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_alternately(fns: Dict[str, Callable[[],
                                             object]], device: torch.device,
                     warmup: int, repeats: int) -> Dict[str, Timing]:
    """Time each function ``repeats`` times, the calls interleaved.

    Args:
        fns (dict[str, callable]): The functions to time, by name.
        device (torch.device): Their device (CUDA work is waited for).
        warmup (int): Untimed calls of each function first.
        repeats (int): Timed calls of each function (>= 1).

    Returns:
        dict[str, Timing]: The wall times of each function.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: Timing.of(t) for name, t in times.items()}


def time_runs(fn: Callable[[], object], device: torch.device, warmup: int,
              repeats: int) -> Timing:
    """Wall times of ``repeats`` calls of ``fn()`` after ``warmup`` calls."""
    return time_alternately({'fn': fn}, device, warmup, repeats)['fn']


def saved_bytes(fn: Callable[[], torch.Tensor]) -> int:
    """Bytes of the tensors autograd keeps for the backward of ``fn``
    (each storage once, views included)."""
    seen: Dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())
