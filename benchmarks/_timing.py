# Copyright (c) mmderain contributors. All rights reserved.
"""Timing and memory helpers shared by the benchmark scripts."""
import statistics
import time
from typing import Callable, Dict

import torch


def sync(device: torch.device) -> None:
    """Wait for queued CUDA work (no-op on other devices)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def median_time(fn: Callable[[], None], device: torch.device, warmup: int,
                repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
