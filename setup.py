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


def ext_modules_and_cmdclass() -> tuple:
    """The compiled CPU kernels (``mmderain.ops._ext``), if torch is here.

    They are optional: without torch in the build environment (or with
    ``MMDERAIN_NO_EXT=1``) nothing is compiled and mmderain uses its
    PyTorch paths.
    """
    if os.environ.get('MMDERAIN_NO_EXT') == '1':
        return [], {}
    try:
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        return [], {}
    flags = ['-O3', '-ffast-math', '-fopenmp']
    if sys.platform == 'darwin':  # Apple clang has no OpenMP by default
        flags = ['-O3', '-ffast-math']
    ext = CppExtension(
        'mmderain.ops._ext', ['mmderain/ops/csrc/lstm_pointwise.cpp'],
        extra_compile_args=flags,
        extra_link_args=['-fopenmp'] if '-fopenmp' in flags else [])
    return [ext], {'build_ext': BuildExtension.with_options(use_ninja=False)}


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
