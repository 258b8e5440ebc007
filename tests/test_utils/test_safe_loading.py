# Copyright (c) mmderain contributors. All rights reserved.
"""Every checkpoint path loads weights only, strictly and finite.

Issue 19, items 1 and 2: before, ``tools/test.py`` evaluated unconverted or
mis-shaped weights as a random model (exit 0), and ``tools/derain.py``,
``load_from`` and ``last_checkpoint`` unpickled code from URLs through
MMEngine's http loader (``weights_only=False``).
"""
import functools
import http.server
import os
import os.path as osp
import threading
from contextlib import contextmanager

import pytest
import torch
from mmengine.config import Config

from mmderain.utils import register_all_modules
from mmderain.utils.safe_loading import (CheckpointError, extract_state_dict,
                                         load_checkpoint_file,
                                         load_state_dict_strictly)
from tests._helpers import run_tool, tiny_prenet_cfg, write_pairs


class _RunsCode:
    """Pickles as a call of ``os.system`` (what an attacker would ship)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def _evil_checkpoint(path, marker):
    torch.save({'state_dict': {}, 'meta': _RunsCode(marker)}, path)
    return str(path)


@contextmanager
def _serve(folder):
    """Serve ``folder`` on 127.0.0.1 (a free port) for the block."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """Downloads go to a fresh hub cache."""
    folder = tmp_path / 'hub'
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(folder))
    return folder


def _cfg_file(tmp_path, **generator):
    data = write_pairs(tmp_path / 'data')
    cfg = Config(tiny_prenet_cfg(data, str(tmp_path / 'unused'), 2))
    cfg.pop('work_dir')
    cfg.model.generator.update(generator)
    path = str(tmp_path / f'cfg{len(generator)}.py')
    cfg.dump(path)
    return path, cfg


def _model(cfg):
    from mmderain.registry import MODELS
    register_all_modules()
    return MODELS.build(cfg.model)


# ---------------------------------------------------------------- reading


def test_local_file_with_code_is_refused(tmp_path):
    marker = tmp_path / 'ran'
    path = _evil_checkpoint(tmp_path / 'evil.pth', marker)
    with pytest.raises(CheckpointError, match='evil.pth.*posix.system'):
        load_checkpoint_file(path)
    assert not marker.exists()


@pytest.mark.parametrize('content', [b'', b'PK\x03\x04 truncated'])
def test_empty_or_truncated_file_names_it(tmp_path, content):
    path = tmp_path / 'broken.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match='broken.pth'):
        load_checkpoint_file(str(path))


def test_url_with_code_is_refused_everywhere(tmp_path, hub_dir):
    """``tools/derain.py URL``, ``load_from=URL`` and a ``last_checkpoint``
    naming a URL: nothing from the file runs."""
    register_all_modules()
    marker = tmp_path / 'ran'
    served = tmp_path / 'served'
    served.mkdir()
    _evil_checkpoint(served / 'x.pth', marker)
    cfg_path, _ = _cfg_file(tmp_path)
    with _serve(served) as base:
        url = f'{base}/x.pth'
        # the low-level loader, and MMEngine's own entry point
        with pytest.raises(CheckpointError, match='x.pth'):
            load_checkpoint_file(url)
        from mmengine.runner.checkpoint import _load_checkpoint
        with pytest.raises(CheckpointError):
            _load_checkpoint(url)
        # tools/derain.py CONFIG URL
        img = tmp_path / 'img'
        write_pairs(img, n=1)
        code = run_tool('derain.py', [
            cfg_path, url,
            str(img / 'rain'), '--out-dir',
            str(tmp_path / 'out'), '--device', 'cpu'
        ])
        assert code != 0
        # load_from=URL in training
        with pytest.raises(SystemExit, match='refusing'):
            run_tool('train.py', [
                cfg_path, '--work-dir',
                str(tmp_path / 'w1'), '--cfg-options', f'load_from={url}'
            ])
        # a last_checkpoint that names the URL, then --resume
        work = tmp_path / 'w2'
        work.mkdir()
        (work / 'last_checkpoint').write_text(url)
        try:
            run_tool('train.py',
                     [cfg_path, '--work-dir',
                      str(work), '--resume'])
        except SystemExit as err:
            assert 'refusing' in str(err)
    assert not marker.exists()


# ---------------------------------------------------------------- strict


def test_tools_test_refuses_unconverted_official_weights(tmp_path, capsys):
    """The raw official layout (no ``generator.`` prefix) is an error that
    names the file and the converter, not a random model's metrics."""
    cfg_path, cfg = _cfg_file(tmp_path)
    raw = str(tmp_path / 'PReNet6_rain100l.pth')
    torch.save(_model(cfg).generator.state_dict(), raw)
    with pytest.raises(SystemExit) as err:
        run_tool('test.py', [cfg_path, raw, '--work-dir', str(tmp_path)])
    text = str(err.value)
    assert 'PReNet6_rain100l.pth' in text
    assert 'missing keys' in text and 'generator.' in text
    assert 'tools/convert/prenet.py' in text


def test_tools_test_names_an_empty_checkpoint(tmp_path):
    cfg_path, _ = _cfg_file(tmp_path)
    empty = tmp_path / 'iter_9.pth'
    empty.write_bytes(b'')
    with pytest.raises(SystemExit, match=r'iter_9.pth is empty \(0 bytes\)'):
        run_tool('test.py',
                 [cfg_path, str(empty), '--work-dir',
                  str(tmp_path)])


def test_tools_test_refuses_another_width(tmp_path):
    cfg_path, _ = _cfg_file(tmp_path)
    _, wide = _cfg_file(tmp_path, mid_channels=8)
    path = str(tmp_path / 'wide.pth')
    torch.save({'state_dict': _model(wide).state_dict()}, path)
    with pytest.raises(SystemExit, match=r'wide.pth.*another shape.*\(8, '):
        run_tool('test.py', [cfg_path, path, '--work-dir', str(tmp_path)])


def test_load_from_of_another_model_stops_training(tmp_path):
    cfg_path, _ = _cfg_file(tmp_path)
    _, other = _cfg_file(tmp_path, num_stages=3, recurrent=None)
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': _model(other).state_dict()}, path)
    with pytest.raises(SystemExit, match='other.pth.*does not fit'):
        run_tool('train.py', [
            cfg_path, '--work-dir',
            str(tmp_path / 'w'), '--cfg-options', f'load_from={path}'
        ])
    assert not osp.exists(str(tmp_path / 'w' / 'iter_2.pth'))


def test_derainer_refuses_mismatch_and_non_finite(tmp_path):
    from mmderain.apis import init_derainer
    cfg_path, cfg = _cfg_file(tmp_path)
    state = _model(cfg).state_dict()
    partial = {k: v for k, v in state.items() if 'head' not in k}
    torch.save({'state_dict': partial}, str(tmp_path / 'partial.pth'))
    with pytest.raises(CheckpointError, match='partial.pth.*missing keys'):
        init_derainer(cfg_path, str(tmp_path / 'partial.pth'))
    key = next(iter(state))
    state[key] = torch.full_like(state[key], float('nan'))
    torch.save({'state_dict': state}, str(tmp_path / 'nan.pth'))
    with pytest.raises(CheckpointError, match=f'nan.pth.*NaN.*{key}'):
        init_derainer(cfg_path, str(tmp_path / 'nan.pth'))


def test_partial_warm_start_is_declared_and_reported(tmp_path, capsys):
    """``load_from_allow_missing`` names what a warm start may lack; the
    other keys still load strictly."""
    _, cfg = _cfg_file(tmp_path)
    model = _model(cfg)
    state = {
        k: torch.ones_like(v)
        for k, v in model.state_dict().items() if 'head' not in k
    }
    with pytest.raises(CheckpointError, match='missing keys'):
        load_state_dict_strictly(model, state, 'warm.pth')
    skipped = load_state_dict_strictly(
        model, state, 'warm.pth', allow_missing=('generator.head', ))
    assert skipped and all(k.startswith('generator.head') for k in skipped)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    # an unexpected key is still an error
    state['generator.extra'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match='unexpected keys.*extra'):
        load_state_dict_strictly(
            model, state, 'warm.pth', allow_missing=('generator.head', ))


def test_runner_warm_start_with_allowed_prefixes(tmp_path):
    from mmderain.apis.runner import build_runner
    _, cfg = _cfg_file(tmp_path)
    state = {
        k: v
        for k, v in _model(cfg).state_dict().items() if 'head' not in k
    }
    path = str(tmp_path / 'warm.pth')
    torch.save({'state_dict': state}, path)
    cfg.work_dir = str(tmp_path / 'w')
    cfg.load_from = path
    cfg.load_from_allow_missing = ['generator.head']
    runner = build_runner(cfg)
    runner.load_or_resume()
    loaded = runner.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_module_prefix_of_ddp_checkpoints_is_removed():
    state = {'module.generator.w': torch.ones(1)}
    assert list(extract_state_dict({'state_dict': state},
                                   'x')) == ['generator.w']


def test_inference_needs_only_the_derainer_of_a_joint_model(tmp_path):
    """A VRGNet config tests a converted derainer-only checkpoint (the
    README's parity command): the rain generator and critic may be missing
    for inference, not for training, and the derainer loads strictly."""
    from mmderain.apis.runner import build_runner, run_test
    from mmderain.utils.safe_loading import load_weights
    from tests._helpers import tiny_vrgnet, tiny_vrgnet_cfg
    model = tiny_vrgnet()
    derainer = {
        k: v
        for k, v in model.state_dict().items() if k.startswith('generator.')
    }
    path = str(tmp_path / 'derainer.pth')
    torch.save({'state_dict': derainer}, path)
    other = tiny_vrgnet()
    with pytest.raises(CheckpointError, match='missing keys.*rain_encoder'):
        load_weights(other, path)  # training: strict
    load_weights(other, path, for_inference=True)
    loaded = other.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in derainer.items())
    broken = dict(derainer)
    broken.pop(next(iter(broken)))
    torch.save({'state_dict': broken}, str(tmp_path / 'broken.pth'))
    with pytest.raises(CheckpointError, match='1 missing keys.*generator'):
        load_weights(other, str(tmp_path / 'broken.pth'), for_inference=True)
    # the runner: test() allows it, a training warm start does not
    data = write_pairs(tmp_path / 'data', size=(64, 64))
    cfg = Config(tiny_prenet_cfg(data, str(tmp_path / 'w'), 2))
    cfg.model = tiny_vrgnet_cfg()
    cfg.pop('train_dataloader')
    cfg.pop('train_cfg')
    cfg.pop('optim_wrapper')
    cfg.pop('param_scheduler')
    runner = build_runner(cfg, load_from=path)
    metrics = run_test(runner)
    assert set(metrics) == {'PSNR', 'SSIM'}
    runner = build_runner(cfg, load_from=path, work_dir=str(tmp_path / 'w2'))
    with pytest.raises(CheckpointError, match='missing keys'):
        runner.load_or_resume()


@pytest.mark.parametrize(
    'entries, tool',
    [(('model', 'optimizer', 'scheduler'), 'tools/convert/rain2avoid.py'),
     (('net', 'clock_net', 'opt_net'), 'tools/convert/ssidkd.py')])
def test_official_containers_name_their_converter(entries, tool):
    """An official training file (model.pkl, net_latest) holds no state dict
    at the top level: the error says which converter reads it."""
    from mmderain.utils.safe_loading import CheckpointError, extract_state_dict
    checkpoint = {k: {'w': torch.zeros(1)} for k in entries}
    with pytest.raises(CheckpointError, match=f'python {tool} net_latest'):
        extract_state_dict(checkpoint, 'net_latest')
