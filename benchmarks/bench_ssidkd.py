# Copyright (c) mmderain contributors. All rights reserved.
"""SSID-KD backbone inference: our :class:`SSIDKDNet` vs the official
dataflow.

The reference (:func:`reference_forward`) follows the official
``ODE_DerainNet`` (cuiyixin555/SSID-KD ``model.py``) step by step on the
weights of an :class:`SSIDKDNet`: a ``torch.cat`` of the growing list for
every dense 1x1 fusion, separate 3x3 and 5x5 MSFB convolutions, three
independent max-pools per ISCB, one resize per unit output (and the
official's discarded one), NCHW tensors. Ours runs the same weights with
1x1 merges without full-size concatenations, preallocated dense buffers,
hierarchical pools and channels_last on CPU, optionally the fused MSFB
kernels (``--channels-last``, ``--fuse-msfb`` choose; see the
module docstring of ``mmderain/models/editors/ssidkd/ssidkd_net.py``).

Both run in this process on the same input (inference, ``torch.no_grad``,
``--threads`` CPU threads by default 2); the outputs (derain, rain, code)
must agree within 1e-5. The script prints the median and range of the
timed runs and the throughput ratio (reference / ours; > 1: ours faster).
The reference is slow (about 13 s per 320x480 image on 2 threads), so it
is timed ``--ref-repeats`` times (default 3), ours ``--repeats`` times
(default 5).

Example::

    python benchmarks/bench_ssidkd.py --height 320 --width 480 --threads 2
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from benchmarks._timing import time_runs  # noqa: E402
from mmderain.models.editors.ssidkd import SSIDKDNet  # noqa: E402


def _lrelu(x):
    return F.leaky_relu(x, 0.2)


def _bilinear(x, size):
    return F.interpolate(x, size=size, mode='bilinear')


def _nearest(x, size):
    return F.interpolate(x, size=size, mode='nearest')


def _ref_iscb(m, x):
    """Official ``ISCB.forward``: pools of ``x`` by 8, 4, 2 each."""
    f8, f4, f2 = F.max_pool2d(x, 8), F.max_pool2d(x, 4), F.max_pool2d(x, 2)
    size = x.shape[-2:]
    for conv in m.branch8:
        f8 = _lrelu(conv(f8))
    f4 = _lrelu(m.merge84(torch.cat([f4, _nearest(f8, f4.shape[-2:])], 1)))
    for conv in m.branch4:
        f4 = _lrelu(conv(f4))
    f2 = _lrelu(m.merge42(torch.cat([f2, _nearest(f4, f2.shape[-2:])], 1)))
    for conv in m.branch2:
        f2 = _lrelu(conv(f2))
    f1 = _lrelu(m.merge21(torch.cat([x, _nearest(f2, size)], 1)))
    for conv in m.branch1:
        f1 = _lrelu(conv(f1))
    out = _lrelu(
        m.merge_all(
            torch.cat([
                f1,
                _nearest(f2, size),
                _nearest(f4, size),
                _nearest(f8, size)
            ], 1)))
    return out + x


def _ref_msfb(m, x):
    """Official ``MSFB.forward``: the 3x3 and 5x5 convolutions apart."""
    u = torch.cat([_lrelu(m.conv3_1(x)), _lrelu(m.conv5_1(x))], 1)
    v = torch.cat([_lrelu(m.conv3_2(u)), _lrelu(m.conv5_2(u))], 1)
    return m.fuse(v) + x


def _ref_dense(m, x, inject: Optional[List[torch.Tensor]] = None):
    """Official ``DenseConnection.forward``: returns the list and out."""
    cat, out = [x], x
    for i in range(m.num_units):
        inp = out if inject is None else out + inject[i + 1]
        t = _ref_msfb(m.unit.msfb, _ref_iscb(m.unit.iscb, inp))
        cat.append(t)
        out = _lrelu(m.fusions[i](torch.cat(cat, 1)))
    return cat, out


def _ref_merge(conv, units, size):
    return _lrelu(conv(torch.cat([_bilinear(t, size) for t in units], 1)))


def reference_forward(net: SSIDKDNet, img: torch.Tensor):
    """The official ``ODE_DerainNet.forward`` on ``net``'s weights (inputs
    of at least 32 x 32).

    Returns:
        tuple[Tensor, Tensor, Tensor]: derain, rain, code.
    """
    h, w = img.shape[-2:]
    feats = [
        _lrelu(conv(x))
        for conv, x in zip(net.head, (img, _bilinear(img, (h // 2, w // 2)),
                                      _bilinear(img, (h // 4, w // 4))))
    ]
    fea1, fea2, fea4 = feats
    # Encoder_Decoder_4
    ed4_cat, out = _ref_dense(net.ed4.enc4, fea4)
    de4 = fea4 + out
    # Encoder_Decoder_2
    ed, (h2, w2) = net.ed2, fea2.shape[-2:]
    en2_cat, _ = _ref_dense(ed.enc2, fea2)
    x = _ref_merge(ed.merge_2to4, en2_cat[1:], (h2 // 2, w2 // 2))
    ed2_en4_cat, _ = _ref_dense(ed.enc4, x, ed4_cat)
    x = _ref_merge(ed.merge_4to2, ed2_en4_cat[1:], (h2, w2))
    ed2_de2_cat, out = _ref_dense(ed.dec2, x, en2_cat)
    de2 = fea2 + out
    # Encoder_Decoder_1
    ed = net.ed1
    en1_cat, _ = _ref_dense(ed.enc1, fea1)
    en2_in = _ref_merge(ed.merge_1to2, en1_cat[1:], (h // 2, w // 2))
    e2_cat, _ = _ref_dense(ed.enc2, en2_in, en2_cat)
    x = _ref_merge(ed.merge_2to4, e2_cat[1:], (h // 4, w // 4))
    e4_cat, _ = _ref_dense(ed.enc4, x, ed2_en4_cat)
    code = e4_cat[-1]
    x = _ref_merge(ed.merge_4to2, e4_cat[1:], (h // 2, w // 2))
    d2_cat, out = _ref_dense(ed.dec2, x, ed2_de2_cat)
    last = out + en2_in
    ups = []
    for i, t in enumerate(d2_cat[1:]):
        up = _bilinear(t, (h, w))  # computed, then replaced (official)
        if i == len(d2_cat) - 2:
            up = _bilinear(last, (h, w))
        ups.append(up)
    x = _lrelu(ed.merge_2to1(torch.cat(ups, 1)))
    _, out = _ref_dense(ed.dec1, x, en1_cat)
    de1 = fea1 + out
    # Tail
    rain = _lrelu(
        net.tail(
            torch.cat(
                [de1, _bilinear(de2, (h, w)),
                 _bilinear(de4, (h, w))], 1)))
    return img - rain, rain, code


def main(argv=None) -> Dict[str, float]:
    """Run the benchmark; returns the measured numbers.

    Returns:
        dict[str, float]: ``max_abs_diff`` (ours vs reference, over
        derain, rain and code), ``runs`` and ``ref_runs`` (timed calls),
        seconds per image ``{reference,ours}_s`` (median), ``..._s_min``,
        ``..._s_max`` and ``speedup`` (reference / ours, medians).

    Raises:
        AssertionError: If ours and the reference disagree by 1e-5 or more.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--height', type=int, default=320)
    parser.add_argument('--width', type=int, default=480)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--channels', type=int, nargs=3, default=(24, 32, 48))
    parser.add_argument('--num-units', type=int, nargs=3, default=(10, 4, 2))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--ref-repeats', type=int, default=3)
    parser.add_argument(
        '--channels-last',
        choices=('auto', 'on', 'off'),
        default='auto',
        help='memory format of ours (SSIDKDNet channels_last=None/True/'
        'False; auto: channels_last on CPU)')
    parser.add_argument(
        '--fuse-msfb',
        choices=('both', '1', '2', 'none'),
        default='none',
        help='MSFB layers whose 3x3/5x5 pair runs as one 5x5 conv')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    net = SSIDKDNet(args.channels, args.num_units).to(device).eval()
    x = torch.rand(args.batch, 3, args.height, args.width, device=device)
    channels_last = dict(auto=None, on=True, off=False)[args.channels_last]
    fuse = dict(both=True, none=False, **{'1': (1, ), '2': (2, )})
    fuse = fuse[args.fuse_msfb]
    ours_net = SSIDKDNet(
        args.channels,
        args.num_units,
        fuse_msfb=fuse,
        channels_last=channels_last).to(device).eval()
    ours_net.load_state_dict(net.state_dict())
    ours_x = x

    with torch.no_grad():
        ref_out = reference_forward(net, x)
        our_out = ours_net(ours_x)
    diff = max((a - b).abs().max().item() for a, b in zip(ref_out, our_out))
    print(f'max |ours - reference| over derain, rain, code: {diff:.2e}')
    if not diff < 1e-5:
        raise AssertionError(f'outputs differ by {diff:.2e}')

    def run(fn, *a):

        def call():
            with torch.no_grad():
                fn(*a)

        return call

    ref = time_runs(
        run(reference_forward, net, x), device, 0, args.ref_repeats)
    ours = time_runs(run(ours_net, ours_x), device, args.warmup, args.repeats)
    speedup = ref.median / ours.median
    print(f'device {device}, {args.threads} threads, batch {args.batch}, '
          f'{args.height}x{args.width}, channels {tuple(args.channels)}, '
          f'units {tuple(args.num_units)}; ours: channels_last '
          f'{args.channels_last}, fused MSFB layers {args.fuse_msfb}')
    print(f'reference (official dataflow) {ref.ms()}  median (min-max) of '
          f'{ref.runs} runs')
    print(f'ours                          {ours.ms()}  median (min-max) of '
          f'{ours.runs} runs')
    print(f'speedup (reference / ours, medians): {speedup:.2f}x')
    return dict(
        max_abs_diff=diff,
        runs=ours.runs,
        ref_runs=ref.runs,
        **ref.as_dict('reference'),
        **ours.as_dict('ours'),
        speedup=speedup)


if __name__ == '__main__':
    main()
