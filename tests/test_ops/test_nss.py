# Copyright (c) mmderain contributors. All rights reserved.
"""Rain2Avoid's NSS (mmderain.ops.nss) against the official ``sdr.py``.

``tests/data/rain2avoid_nss_official.npz`` holds outputs of the OFFICIAL
``Rain2Avoid(Single)/sdr.py``, run unmodified (a stub ``seaborn`` on
``PYTHONPATH``) by ``tests/data/make_rain2avoid_nss_fixtures.py`` on crops
of Rain100L test images with their official LDGP masks (numpy 1.26.4,
OpenCV 4.11): the image, the mask, all references as written, and the fused
image. The cases: the image corner; dense rain (similarity windows up to 7,
pixels without a rain-free neighbour); ``--pow 1``; ``--threshold 50``;
``--K 5 --k 2 --sdr_num 12``; and a crop with a pixel whose samples depend
on NumPy's pairwise float32 summation.

The compiled CPU kernel and the NumPy reference must equal these outputs
exactly, and each other on synthetic inputs; the CUDA kernel must equal the
CPU kernel (skipped without a GPU; its source is compiled when nvcc is
available).
"""
import importlib
import json
import os
import os.path as osp
import shutil
import subprocess

import cv2
import numpy as np
import pytest
import torch

from mmderain.ops import ONLINE_ETA, fuse_sdrs, nss, nss_reference
from mmderain.ops.nss import cpu_kernel_available

# the module (mmderain.ops.nss is the function nss, exported by the package)
nss_mod = importlib.import_module('mmderain.ops.nss')

HERE = osp.dirname(osp.abspath(__file__))
FIXTURES = osp.join(HERE, '..', 'data', 'rain2avoid_nss_official.npz')
OFFICIAL = np.load(FIXTURES)
CASES = json.loads(str(OFFICIAL['cases']))


def _case(name):
    params = json.loads(str(OFFICIAL[f'{name}_params']))
    kwargs = {
        k: params[k]
        for k in ('num', 'eta', 'threshold', 'window', 'sim_window')
    }
    return (OFFICIAL[f'{name}_image'], OFFICIAL[f'{name}_ldgp'],
            OFFICIAL[f'{name}_sdrs'], OFFICIAL[f'{name}_fused'], kwargs)


def _need_cpu_kernel():
    if not cpu_kernel_available():
        if os.environ.get('CI'):
            pytest.fail('mmderain.ops._nss_ext was not built by pip install '
                        '-e .')
        pytest.skip('compiled NSS kernel not built (pip install -e .)')


def test_fixtures_cover_the_official_details():
    assert CASES == [
        'corner', 'dense', 'eta1', 'threshold50', 'windows', 'pairwise'
    ]
    image, ldgp, sdrs, fused, kw = _case('dense')
    # some pixels are kept (no rain-free neighbour), most are replaced
    kept = (ldgp > 10) & (sdrs == image).all(-1).all(0)
    assert 0 < kept.sum() < (ldgp > 10).sum() // 10
    # the dead band 1..10 is neither replaced nor a candidate
    assert ((ldgp > 0) & (ldgp <= 10)).any()
    assert (sdrs[:, ldgp <= 10] == image[ldgp <= 10]).all()
    assert _case('eta1')[4]['eta'] == 1.0 == ONLINE_ETA


@pytest.mark.parametrize('name', CASES)
def test_cpu_kernel_equals_official(name):
    _need_cpu_kernel()
    image, ldgp, sdrs, fused, kw = _case(name)
    before = image.copy()
    out, out_fused = nss(
        image, ldgp, backend='cpu', return_fused=True, seed=0, **kw)
    assert out.dtype == np.uint8 and out.shape == sdrs.shape
    np.testing.assert_array_equal(out, sdrs)
    np.testing.assert_array_equal(out_fused, fused)
    np.testing.assert_array_equal(fuse_sdrs(sdrs), fused)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize('name', CASES)
def test_reference_equals_official(name):
    image, ldgp, sdrs, fused, kw = _case(name)
    np.testing.assert_array_equal(nss_reference(image, ldgp, **kw), sdrs)


def _seq_sum(a):
    total = np.float32(0)
    for x in a:
        total = np.float32(total + x)
    return total


def test_official_normalises_with_numpys_pairwise_sum():
    """At (8, 8) of the 'pairwise' crop, a plain sequential float32 sum of
    the weights would move reference 33 to another candidate."""
    image, ldgp, sdrs, _, kw = _case('pairwise')
    j, i = 8, 8
    rain = ldgp > 0
    img = image.astype(np.int64)
    cands = [(y, x) for y in range(j - 3, j + 4) for x in range(i - 3, i + 4)
             if not rain[y, x]]
    assert not rain[j - 1:j + 2, i - 1:i + 2].all()  # window 3
    keep = ~rain[j - 1:j + 2, i - 1:i + 2, None]
    centre = img[j - 1:j + 2, i - 1:i + 2]
    dist = [(np.abs(centre - img[y - 1:y + 2, x - 1:x + 2]) * keep).sum()
            for y, x in cands]
    w = np.array([1 / max(np.float64(d)**0.5, 1e-4) for d in dist],
                 dtype=np.float32)
    assert len(w) >= 8 and w.sum() != _seq_sum(w)
    u = np.random.RandomState(0).random_sample(kw['num'])

    def pick(total):
        cdf = np.cumsum((w / total).astype(np.float64))
        idx = np.searchsorted(cdf / cdf[-1], u, side='right')
        return np.stack([image[cands[q]] for q in idx])

    np.testing.assert_array_equal(pick(w.sum()), sdrs[:, j, i])
    naive = pick(_seq_sum(w))
    assert (naive != sdrs[:, j, i]).any(-1).tolist() == [
        k == 33 for k in range(kw['num'])
    ]


def _synthetic(seed, h, w, c, dense):
    """Random image (sometimes quantised: ties) and an LDGP-like mask with
    the dead band 1..10, mid values and an all-rain block."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    if seed % 2:
        image = image // 64 * 64
    r = rng.random((h, w))
    ldgp = np.where(r < dense, 255, 0).astype(np.uint8)
    band = (r >= dense) & (r < dense + 0.1)
    ldgp[band] = rng.integers(1, 11, band.sum())
    mid = (r >= dense + 0.1) & (r < dense + 0.15)
    ldgp[mid] = rng.integers(11, 255, mid.sum())
    y, x = rng.integers(0, h - 4), rng.integers(0, w - 4)
    ldgp[y:y + 7, x:x + 6] = 200
    return image, ldgp


SYNTHETIC = [
    # seed, (h, w, c), dense, kwargs
    (0, (16, 20, 3), 0.3, dict()),
    (1, (12, 17, 3), 0.6, dict(eta=1.0, num=7, seed=3)),
    (2, (15, 9, 1), 0.4, dict(eta=0.0, threshold=0, window=5)),
    (3, (11, 14, 4), 0.5, dict(eta=2.5, threshold=100, sim_window=1)),
    (4, (13, 13, 3), 0.3, dict(num=1, threshold=-1, window=6, sim_window=2)),
    (5, (10, 18, 2), 0.8, dict(window=9, sim_window=5, seed=1)),
    (6, (14, 12, 3), 0.4, dict(window=3, num=20, eta=0.3)),
    # eta 40: most weights underflow to 0 in float32 -> p is NaN -> kept
    (7, (12, 12, 3), 0.4, dict(eta=40.0, num=5)),
]


@pytest.mark.parametrize('seed,shape,dense,kwargs', SYNTHETIC)
def test_cpu_kernel_equals_reference(seed, shape, dense, kwargs):
    _need_cpu_kernel()
    image, ldgp = _synthetic(seed, *shape, dense)
    before = image.copy(), ldgp.copy()
    ref = nss_reference(image, ldgp, **kwargs)
    out, fused = nss(image, ldgp, backend='cpu', return_fused=True, **kwargs)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(fused, fuse_sdrs(ref))
    # inputs untouched (num=1 once aliased the output with the image)
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(ldgp, before[1])
    replaced = (out != image).any(-1).any(0)
    assert replaced.any()
    assert not replaced[ldgp <= kwargs.get('threshold', 10)].any() or \
        kwargs.get('threshold', 10) < 0
    if kwargs.get('eta') == 40.0:
        kept = (ldgp > 10) & ~replaced
        assert kept.sum() > 10


def test_cpu_kernel_is_independent_of_the_thread_count():
    _need_cpu_kernel()
    image, ldgp = _synthetic(9, 40, 48, 3, 0.4)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = nss(image, ldgp)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(nss(image, ldgp), one)


def test_kinds_dtypes_and_layouts():
    image, ldgp, sdrs, fused, kw = _case('corner')
    image, ldgp, sdrs, fused = (
        a[:16, :20] for a in (image, ldgp, sdrs, fused))
    ref, ref_fused = nss(image, ldgp, return_fused=True, **kw)
    # torch uint8
    out = nss(torch.from_numpy(image), torch.from_numpy(ldgp), **kw)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.uint8
    np.testing.assert_array_equal(out.numpy(), ref)
    # float32 from to_tensor(img) * 255 (the online variant), H x W x 1 mask
    img01 = torch.from_numpy(image).float().div(255)
    mask01 = torch.from_numpy(ldgp)[..., None].float().div(255)
    out, out_fused = nss(
        img01.clamp(0, 1) * 255,
        mask01.clamp(0, 1) * 255,
        return_fused=True,
        **kw)
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal(out_fused.numpy(), ref_fused)
    # float64 numpy; a reversed-channel view (RGB) gives the reversed result
    out = nss(image.astype(np.float64), ldgp, **kw)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(
        nss(image[..., ::-1], ldgp, **kw), ref[..., ::-1])


def test_online_inputs_are_exact_integers():
    """to_tensor(img) * 255 in float32 (generateSDR_multiple.py) is exact
    for every level, so the online variant needs no float path."""
    levels = torch.arange(256, dtype=torch.uint8)
    scaled = np.clip(levels.float().div(255).numpy(), 0, 1) * 255
    assert scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, np.arange(256))


def test_backends_and_fallback(monkeypatch):
    image, ldgp = _synthetic(10, 9, 11, 3, 0.4)
    ref = nss_reference(image, ldgp, num=6)
    monkeypatch.setattr(nss_mod, '_cpu_ext', None)
    # without the compiled kernel, 'auto' is the NumPy reference
    np.testing.assert_array_equal(nss(image, ldgp, num=6), ref)
    with pytest.raises(RuntimeError, match='pip install -e'):
        nss(image, ldgp, backend='cpu')
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='CUDA device'):
            nss(image, ldgp, backend='cuda')


def test_input_errors():
    image, ldgp = _synthetic(11, 8, 9, 3, 0.4)
    with pytest.raises(ValueError, match=r'H x W x C.*\(8, 9\)'):
        nss(image[..., 0], ldgp)
    mismatch = r'ldgp \(8, 8\) does not match.*\(8, 9\)'
    with pytest.raises(ValueError, match=mismatch):
        nss(image, ldgp[:, :8])
    with pytest.raises(ValueError, match='ldgp must be H x W'):
        nss(image, np.stack([ldgp] * 2, -1))
    not_int = 'image must hold integer values 0..255.*not all integers'
    with pytest.raises(ValueError, match=not_int):
        nss(image / 255, ldgp)
    with pytest.raises(ValueError, match=r'ldgp must hold.*\[0, 300\]'):
        nss(image, np.where(ldgp > 0, 300, 0))
    with pytest.raises(TypeError, match='image must be uint8'):
        nss(image > 0, ldgp)
    with pytest.raises(TypeError, match='numpy array or a torch tensor'):
        nss(image.tolist(), ldgp)
    with pytest.raises(ValueError, match='num must be >= 1'):
        nss(image, ldgp, num=0)
    with pytest.raises(TypeError, match='window must be an int'):
        nss(image, ldgp, window=7.0)
    with pytest.raises(ValueError, match='eta must be a finite'):
        nss(image, ldgp, eta=float('nan'))
    with pytest.raises(ValueError, match='backend must be one of'):
        nss(image, ldgp, backend='gpu')
    with pytest.raises(ValueError, match='num >= 1'):
        fuse_sdrs(np.zeros((0, 2, 2, 3), np.uint8))


@pytest.mark.parametrize('kind', ['numpy', 'torch'])
def test_fuse_sdrs_rounds_like_cv2_imwrite(kind):
    """The official writes the float64 mean with cv2.imwrite."""
    rng = np.random.default_rng(0)
    sdrs = rng.integers(0, 256, (4, 6, 7, 3), dtype=np.uint8)
    sdrs[:, 0, 0] = [[0, 1, 2], [1, 2, 3], [0, 1, 2], [1, 2, 3]]  # .5 ties
    mean = np.average(sdrs.astype(np.float64), axis=0)
    ok, png = cv2.imencode('.png', mean)
    expected = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
    assert expected[0, 0].tolist() == [0, 2, 2]  # half to even
    got = fuse_sdrs(sdrs if kind == 'numpy' else torch.from_numpy(sdrs))
    got = got if kind == 'numpy' else got.numpy()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_cuda_source_compiles(tmp_path):
    """The kernel (nss.h's device code) compiles with nvcc; the full
    extension (with PyTorch's headers, ~90 s) builds with::

        CUDA_HOME=/usr/local/cuda python -c "from mmderain.ops.nss import \\
            load_cuda_ext; load_cuda_ext()"
    """
    nvcc = shutil.which('nvcc')
    if nvcc is None:
        pytest.skip('nvcc not found')
    src = osp.join(osp.dirname(nss_mod.__file__), 'csrc', 'nss', 'nss_cuda.cu')
    out = str(tmp_path / 'nss_cuda.o')
    proc = subprocess.run(
        [nvcc, '-c', '-DNSS_KERNEL_ONLY', *nss_mod.CUDA_FLAGS, src, '-o', out],
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert osp.getsize(out) > 0


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')
@pytest.mark.parametrize('name', ['dense', 'windows'])
def test_cuda_kernel_equals_cpu_and_official(name):
    image, ldgp, sdrs, fused, kw = _case(name)
    img, mask = torch.from_numpy(image).cuda(), torch.from_numpy(ldgp).cuda()
    out, out_fused = nss(img, mask, return_fused=True, **kw)
    assert out.is_cuda and out_fused.is_cuda
    np.testing.assert_array_equal(out.cpu().numpy(), sdrs)
    np.testing.assert_array_equal(out_fused.cpu().numpy(), fused)
    for seed, shape, dense, kwargs in SYNTHETIC:
        image, ldgp = _synthetic(seed, *shape, dense)
        np.testing.assert_array_equal(
            nss(image, ldgp, backend='cuda', **kwargs),
            nss_reference(image, ldgp, **kwargs))
