# Copyright (c) mmderain contributors. All rights reserved.
"""Official lwcbbd/DLINet_2023TIP checkpoints to :class:`DLINet`."""
from mmderain.models.editors.dlinet.dlinet_net import DLINet
from .official import convert_official_checkpoint

#: ``meta['source']`` of converted files.
DLINET_SOURCE = 'lwcbbd/DLINet_2023TIP'

_PREFIXES = ('module.', 'model.')
_STAGE_KEYS = {
    'first': 'rain_detect.input_encoder_rain.0.weight',
    'second': 'rain_detect.rain_encoder.0.weight',
}


def convert_official_dlinet(official: dict) -> tuple:
    """Map a lwcbbd/DLINet_2023TIP ``DLINET`` state dict onto :class:`DLINet`.

    Module names are mirrored, so the mapping is the identity after removing
    ``module.`` (DataParallel) and/or ``model.`` (the EDSR ``Model``
    wrapper) prefixes. The stage, ``K``, ``N`` and the width are read from
    the weights and the key set is checked against a freshly built model.

    Args:
        official (dict): The official state dict.

    Returns:
        tuple[dict, dict]: The :class:`DLINet` state dict and the generator
        arguments (``num_masks``, ``num_msa_blocks``, ``mid_channels``,
        ``stage``).

    Raises:
        KeyError: If the dict is not an official DLINet one (missing or
            unexpected keys).
    """
    sd = {}
    for k, v in official.items():
        while k.startswith(_PREFIXES):
            k = k.split('.', 1)[1]
        sd[k] = v
    stages = [s for s, key in _STAGE_KEYS.items() if key in sd]
    enc = 'rain_estimate.rain_encoder.0.weight'
    if len(stages) != 1 or enc not in sd or (
            'rain_estimate.msa_list.0.rain_encoder.weight' not in sd):
        raise KeyError('not an official DLINet state dict: expected '
                       f"'{enc}' and one of {list(_STAGE_KEYS.values())}, "
                       f'got {list(sd)[:8]}')
    num_blocks = 1 + max(
        int(k.split('.')[2])
        for k in sd if k.startswith('rain_estimate.msa_list.'))
    args = dict(
        num_masks=sd['rain_estimate.msa_list.0.rain_encoder.weight'].shape[0],
        num_msa_blocks=num_blocks,
        mid_channels=sd[enc].shape[0],
        stage=stages[0])
    expected = set(DLINet(**args).state_dict())
    missing, unexpected = expected - set(sd), set(sd) - expected
    if missing or unexpected:
        raise KeyError(
            f'official DLINet dict does not match DLINet({args}): missing '
            f'{sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}')
    return sd, args


def convert_official_dlinet_checkpoint(src: str, dst: str) -> dict:
    """Convert an official DLINet file into an mmderain checkpoint.

    Args:
        src (str): Official ``model_{best,latest}.pt`` (a plain ``DLINET``
            state dict, or one under ``'state_dict'``).
        dst (str): Output path of the MMEngine-style checkpoint
            (``{'state_dict': {'generator.*': ...}, 'meta': ...}``),
            written atomically.

    Returns:
        dict: The detected generator arguments.

    Raises:
        FileNotFoundError: If ``src`` does not exist.
        KeyError: If ``src`` is not an official DLINet checkpoint.
    """
    return convert_official_checkpoint(src, dst, convert_official_dlinet,
                                       'DLINet', DLINET_SOURCE)
