# Copyright (c) mmderain contributors. All rights reserved.
"""tools/analysis/image_grid.py: folders side by side, one row per stem."""
import cv2
import numpy as np
import pytest

from tests._helpers import run_tool


def _write(folder, name, img):
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / name), img)


def test_grid_places_each_image_in_its_cell(tmp_path):
    a = np.full((20, 40, 3), 10, np.uint8)
    b = np.full((20, 40, 3), 200, np.uint8)
    _write(tmp_path / 'rainy', '1.jpg', a)  # stems pair across extensions
    _write(tmp_path / 'model', '1.png', b)
    _write(tmp_path / 'rainy', '2.png', b)
    _write(tmp_path / 'model', '2.png', a)
    out = tmp_path / 'grid.png'
    run_tool('analysis/image_grid.py', [
        '--columns', f'rainy={tmp_path / "rainy"}',
        f'model={tmp_path / "model"}', '--stems', '1', '2', '--width', '40',
        '--out',
        str(out)
    ])
    grid = cv2.imread(str(out))
    band, gap = 28, 4
    assert grid.shape == (band + 2 * (20 + gap), 2 * 40 + gap, 3)
    cell = grid[band + gap:band + gap + 20]  # first row
    assert abs(int(cell[:, :40].mean()) - 10) <= 2  # jpg rounding
    assert (cell[:, 44:] == 200).all()
    row2 = grid[band + 2 * gap + 20:]
    assert (row2[:, :40] == 200).all() and (row2[:, 44:] == 10).all()


def test_missing_stem_is_named(tmp_path):
    _write(tmp_path / 'a', '1.png', np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match='no image 2'):
        run_tool('analysis/image_grid.py', [
            '--columns', f'a={tmp_path / "a"}', '--stems', '2', '--out',
            str(tmp_path / 'g.png')
        ])
    with pytest.raises(SystemExit):
        run_tool('analysis/image_grid.py',
                 ['--columns', 'nolabel', '--stems', '1', '--out', 'x.png'])
