# Copyright (c) mmderain contributors. All rights reserved.
"""Packaging of mmderain.

The heavy OpenMMLab stack (mmcv built from source, mmagic and its pins) is
installed by ``make setup`` from ``requirements/``; install_requires lists
only the ranges mmderain itself needs, so ``pip install -e .`` into a
prepared environment never rebuilds mmcv.
"""
import os
import os.path as osp
import sys
from setuptools import find_packages, setup


def want_cuda_extensions() -> bool:
    """Whether to build the CUDA kernels (mmcv's convention): with
    ``FORCE_CUDA=1``, or when nvcc (``CUDA_HOME``) and a GPU are found."""
    if os.environ.get('FORCE_CUDA') == '1':
        return True
    import torch
    from torch.utils.cpp_extension import CUDA_HOME
    return CUDA_HOME is not None and torch.cuda.is_available()


def ext_modules_and_cmdclass() -> tuple:
    """The compiled kernels, if torch is here.

    * ``mmderain.ops._ext``: CPU kernels (``lstm_pointwise``);
    * ``mmderain.ops._nss_ext``: Rain2Avoid's NSS on the CPU, a separate
      module because it must be exact: no ``-ffast-math``, no contraction;
    * ``mmderain.ops._nss_cuda``: NSS on CUDA, see
      :func:`want_cuda_extensions` (without it, mmderain compiles the
      kernel on first use).

    They are optional: without torch in the build environment (or with
    ``MMDERAIN_NO_EXT=1``) nothing is compiled and mmderain uses its
    PyTorch/NumPy paths.
    """
    if os.environ.get('MMDERAIN_NO_EXT') == '1':
        return [], {}
    try:
        from torch.utils.cpp_extension import (BuildExtension, CppExtension,
                                               CUDAExtension)
    except ImportError:
        return [], {}
    openmp = sys.platform != 'darwin'  # Apple clang has no OpenMP
    flags = ['-O3', '-ffast-math'] + (['-fopenmp'] if openmp else [])
    link = ['-fopenmp'] if openmp else []
    exts = [
        CppExtension(
            'mmderain.ops._ext', ['mmderain/ops/csrc/lstm_pointwise.cpp'],
            extra_compile_args=flags,
            extra_link_args=link)
    ]
    nss_dir = 'mmderain/ops/csrc/nss'
    exts.append(
        CppExtension(
            'mmderain.ops._nss_ext', [f'{nss_dir}/nss_cpu.cpp'],
            extra_compile_args=['-O3', '-ffp-contract=off'] +
            (['-fopenmp'] if openmp else []),
            extra_link_args=link))
    if want_cuda_extensions():
        # the flags of mmderain.ops.nss.CUDA_FLAGS
        exts.append(
            CUDAExtension(
                'mmderain.ops._nss_cuda', [f'{nss_dir}/nss_cuda.cu'],
                extra_compile_args=dict(
                    cxx=['-O3'], nvcc=['-O3', '--fmad=false'])))
    return exts, {'build_ext': BuildExtension.with_options(use_ninja=False)}


EXT_MODULES, CMDCLASS = ext_modules_and_cmdclass()


def read_version() -> str:
    """Read ``__version__`` from mmderain/version.py without importing."""
    scope: dict = {}
    here = osp.dirname(osp.abspath(__file__))
    with open(osp.join(here, 'mmderain', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


setup(
    name='mmderain',
    version=read_version(),
    description='Single-image deraining toolkit on the OpenMMLab stack',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(
        exclude=('configs', 'tools', 'tests', 'benchmarks')),
    include_package_data=True,
    # the NSS CUDA source is compiled at run time when not built here
    package_data={'mmderain.ops': ['csrc/nss/*.h', 'csrc/nss/*.cu']},
    install_requires=[
        'torch>=2.0',
        'numpy<2',
        'opencv-python',
        'lmdb',
        'ftfy',
        'mmengine>=0.10.0,<0.11',
        'mmcv>=2.0.0,<2.2.0',
        'mmagic>=1.2.0,<1.3',
    ],
    extras_require=dict(tests=['pytest', 'scikit-image']),
    ext_modules=EXT_MODULES,
    cmdclass=CMDCLASS,
    zip_safe=False,
)
