# Copyright (c) mmderain contributors. All rights reserved.
"""The folder loop of the Rain2Avoid tools: one output image per input.

Lists the images directly in ``INPUT_DIR``
(:func:`mmderain.datasets.folder_utils.list_images`, natural order), maps
each file name to its output name (two inputs with the same output name
stop the run before anything is written), then for every image: reads it,
processes it, encodes the result by the output's extension and writes it
atomically (a temporary file renamed over the destination), printing one
line with the time taken. An image that cannot be read, processed or
written is reported by name and the others go on; a summary of the
failures follows and the exit status is 1 if any failed (2 for a bad
command line: missing input folder, ``OUT_DIR`` equal to ``INPUT_DIR``,
clashing output names).
"""
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List

import cv2
import numpy as np

#: Image -> image to write.
Process = Callable[[np.ndarray], np.ndarray]
#: Input file name -> output file name.
Namer = Callable[[str], str]


def _read(path: str, flags: int) -> np.ndarray:
    img = cv2.imread(path, flags)
    if img is None:
        raise OSError(f'cannot read image {path} (missing, unreadable or '
                      'not an image OpenCV decodes)')
    return img


def _write(img: np.ndarray, path: str) -> None:
    from mmderain.utils import AtomicLocalBackend
    ok, data = cv2.imencode(osp.splitext(path)[1], img)
    if not ok:
        raise OSError(f'cannot encode {path}')
    AtomicLocalBackend().put(data.tobytes(), path)


def _output_names(names: List[str], out_name: Namer) -> Dict[str, str]:
    """Input name -> output name; ValueError if two clash."""
    outputs, sources = {}, {}
    for name in names:
        out = out_name(name)
        if out in sources:
            raise ValueError(f'{sources[out]} and {name} would both be '
                             f'written to {out}; rename one or process them '
                             'into separate folders')
        sources[out] = name
        outputs[name] = out
    return outputs


def map_folder(input_dir: str, out_dir: str, process: Process, out_name: Namer,
               read_flags: int, what: str) -> int:
    """Write ``process(image)`` of every image of ``input_dir`` into
    ``out_dir`` under ``out_name(file name)``.

    Args:
        input_dir (str): Folder of input images (not recursive).
        out_dir (str): Output folder (created); must not be ``input_dir``.
        process (Callable): Image -> image to write; ValueError and
            ``cv2.error`` count as a failure of that image.
        out_name (Callable): Input file name -> output file name; its
            extension chooses the format.
        read_flags (int): ``cv2.imread`` flags.
        what (str): What is written, for the messages (e.g. ``'mask'``).

    Returns:
        int: 0 if every image was written, 1 if some failed, 2 if nothing
        was done (the reason printed to stderr).
    """
    from mmengine.fileio.backends import LocalBackend

    from mmderain.datasets.folder_utils import list_images, normalize_suffixes
    from mmderain.utils.path import IMG_EXTENSIONS, natural_sort_key
    if osp.realpath(out_dir) == osp.realpath(input_dir):
        print(
            f'error: OUT_DIR {out_dir} is INPUT_DIR; the outputs could '
            'overwrite the inputs, choose another folder',
            file=sys.stderr)
        return 2
    try:
        suffixes = normalize_suffixes(IMG_EXTENSIONS)
        names = list_images(LocalBackend(), input_dir, suffixes, False,
                            'Input')
        names.sort(key=natural_sort_key)
        outputs = _output_names(names, out_name)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    failures = []
    start = time.perf_counter()
    for i, name in enumerate(names, 1):
        tic = time.perf_counter()
        dst = osp.join(out_dir, outputs[name])
        try:
            result = process(_read(osp.join(input_dir, name), read_flags))
            _write(result, dst)
        except (OSError, ValueError, cv2.error) as err:
            failures.append((name, str(err).strip()))
            print(
                f'[{i}/{len(names)}] {name}: FAILED: {failures[-1][1]}',
                file=sys.stderr,
                flush=True)
            continue
        print(
            f'[{i}/{len(names)}] {name} -> {dst} '
            f'({time.perf_counter() - tic:.3f} s)',
            flush=True)
    done = len(names) - len(failures)
    print(f'Wrote {done} {what}(s) of {len(names)} image(s) to {out_dir} in '
          f'{time.perf_counter() - start:.1f} s')
    if failures:
        print(f'{len(failures)} image(s) failed:', file=sys.stderr)
        for name, reason in failures:
            print(f'  {name}: {reason}', file=sys.stderr)
        return 1
    return 0
