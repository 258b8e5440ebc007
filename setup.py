# Copyright (c) mmderain contributors. All rights reserved.
"""Packaging of mmderain.

The heavy OpenMMLab stack (mmcv built from source, mmagic and its pins) is
installed by ``make setup`` from ``requirements/``; install_requires lists
only the ranges mmderain itself needs, so ``pip install -e .`` into a
prepared environment never rebuilds mmcv.
"""
import os.path as osp

from setuptools import find_packages, setup


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
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
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
    zip_safe=False,
)
