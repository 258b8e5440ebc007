# Copyright (c) mmderain contributors. All rights reserved.
"""tools/convert/dlinet.py (the conversion itself:
tests/test_models/test_converters/test_dlinet.py)."""
import pytest
import torch

from mmderain.models.editors.dlinet.dlinet_net import DLINet
from tests._helpers import run_tool


def test_cli_writes_checkpoint_and_prints_args(tmp_path, capsys):
    net = DLINet(num_masks=2, num_msa_blocks=1, mid_channels=4)
    src, dst = tmp_path / 'model_best.pt', tmp_path / 'out.pth'
    torch.save(net.state_dict(), src)
    args = run_tool('convert/dlinet.py', [str(src), str(dst)])
    assert args == dict(
        num_masks=2, num_msa_blocks=1, mid_channels=4, stage='second')
    assert f'DLINet {args}' in capsys.readouterr().out
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['generator'] == dict(type='DLINet', **args)
    with pytest.raises(FileNotFoundError):
        run_tool('convert/dlinet.py', [str(tmp_path / 'nope.pt'), str(dst)])
