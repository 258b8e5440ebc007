# Copyright (c) mmderain contributors. All rights reserved.
"""The folder loop and image writing shared by the Rain2Avoid tools.

:func:`run_folder` lists the images directly in ``INPUT_DIR``
(:func:`mmderain.datasets.folder_utils.list_images`, natural order:
``2.png`` before ``10.png``) and calls ``process_one(name)`` on each,
printing one line per image with what it wrote and the time taken. An
image whose processing raises one of :data:`IMAGE_ERRORS` is reported by
name and the others go on; a summary of the failures follows and the exit
status is 1 if any failed (2 for a bad command line: missing or empty
input folder, ``OUT_DIR`` equal to a folder that is read, clashing output
names). :func:`map_folder` is the case of one output image per input
(``crop.py``, ``ldgp.py``). :func:`write_image` writes atomically (a
temporary file renamed over the destination), so an interrupted run
never leaves a partial image; images are read with
:func:`mmderain.datasets.transforms.read_image`.
"""
import os
import os.path as osp
import sys
import time
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np

#: What fails one image (reported by name) rather than the whole run.
IMAGE_ERRORS = (OSError, ValueError, RuntimeError, MemoryError, cv2.error)

#: Image -> image to write.
Process = Callable[[np.ndarray], np.ndarray]
#: Input file name -> output file name.
Namer = Callable[[str], str]


def write_image(img: np.ndarray, path: str) -> None:
    """Write ``img`` atomically at ``path`` (its folder created), encoded
    by the extension of ``path``.

    Args:
        img (np.ndarray): Image as OpenCV writes it (BGR, HxW or HxWxC).
        path (str): Destination; an existing file is replaced.

    Raises:
        OSError: If encoding or writing fails (nothing is left behind).
    """
    from mmderain.utils import AtomicLocalBackend
    ok, data = cv2.imencode(osp.splitext(path)[1], img)
    if not ok:
        raise OSError(f'cannot encode {path}')
    AtomicLocalBackend().put(data.tobytes(), path)


def run_folder(input_dir: str,
               out_dir: str,
               process_one: Callable[[str], str],
               outputs: str,
               read_dirs: Optional[Dict[str, str]] = None,
               plan: Optional[Callable[[List[str]], None]] = None) -> int:
    """Call ``process_one`` on every image of ``input_dir``, in natural
    order, reporting progress and failures.

    Args:
        input_dir (str): Folder of input images (not recursive).
        out_dir (str): Output folder (created); must not be ``input_dir``
            nor one of ``read_dirs``.
        process_one (Callable): Input file name -> what it wrote, for the
            progress line ``[i/n] NAME -> WHAT (T s)``; one of
            :data:`IMAGE_ERRORS` counts as a failure of that image.
        outputs (str): Where the outputs are, for the summary line
            (e.g. ``'masks in OUT_DIR'``).
        read_dirs (dict[str, str], optional): Other folders the tool reads,
            by their command-line name (e.g. ``{'LDGP_DIR': path}``).
        plan (Callable, optional): Called with the listed names before
            anything is written; a ValueError stops the run.

    Returns:
        int: 0 if every image was done, 1 if some failed, 2 if nothing was
        done (the reason printed to stderr).
    """
    from mmengine.fileio.backends import LocalBackend

    from mmderain.datasets.folder_utils import list_images, normalize_suffixes
    from mmderain.utils.path import IMG_EXTENSIONS, natural_sort_key
    read_dirs = {'INPUT_DIR': input_dir, **(read_dirs or {})}
    for what, folder in read_dirs.items():
        if osp.realpath(out_dir) == osp.realpath(folder):
            print(
                f'error: OUT_DIR is {what} ({out_dir}); the outputs could '
                'overwrite its files, choose another folder',
                file=sys.stderr)
            return 2
    try:
        names = list_images(LocalBackend(), input_dir,
                            normalize_suffixes(IMG_EXTENSIONS), False, 'Input')
        names.sort(key=natural_sort_key)
        if plan is not None:
            plan(names)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    os.makedirs(out_dir, exist_ok=True)
    failures = []
    start = time.perf_counter()
    for i, name in enumerate(names, 1):
        tic = time.perf_counter()
        try:
            done = process_one(name)
        except IMAGE_ERRORS as err:
            failures.append((name, str(err).strip()))
            print(
                f'[{i}/{len(names)}] {name}: FAILED: {failures[-1][1]}',
                file=sys.stderr,
                flush=True)
            continue
        print(
            f'[{i}/{len(names)}] {name} -> {done} '
            f'({time.perf_counter() - tic:.3f} s)',
            flush=True)
    print(f'{len(names) - len(failures)} of {len(names)} image(s) done in '
          f'{time.perf_counter() - start:.1f} s: {outputs}')
    if failures:
        print(f'{len(failures)} image(s) failed:', file=sys.stderr)
        for name, reason in failures:
            print(f'  {name}: {reason}', file=sys.stderr)
        return 1
    return 0


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
    ``out_dir`` under ``out_name(file name)`` (:func:`run_folder`).

    Two inputs with the same output name stop the run before anything is
    written.

    Args:
        input_dir (str): Folder of input images (not recursive).
        out_dir (str): Output folder (created); must not be ``input_dir``.
        process (Callable): Image -> image to write; one of
            :data:`IMAGE_ERRORS` counts as a failure of that image.
        out_name (Callable): Input file name -> output file name; its
            extension chooses the format.
        read_flags (int): ``cv2.imread`` flags.
        what (str): What is written, for the messages (e.g. ``'mask'``).

    Returns:
        int: 0 if every image was written, 1 if some failed, 2 if nothing
        was done (the reason printed to stderr).
    """
    outputs = {}

    def plan(names: List[str]) -> None:
        outputs.update(_output_names(names, out_name))

    from mmderain.datasets.transforms import read_image

    def process_one(name: str) -> str:
        dst = osp.join(out_dir, outputs[name])
        write_image(
            process(read_image(osp.join(input_dir, name), read_flags)), dst)
        return dst

    return run_folder(
        input_dir, out_dir, process_one, f'{what}s in {out_dir}', plan=plan)
