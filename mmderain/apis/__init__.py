# Copyright (c) mmderain contributors. All rights reserved.
from .inference import (derain_files, derain_image, derain_tensor_tiled,
                        init_derainer)
from .inputs import IMG_EXTENSIONS, collect_image_files

__all__ = [
    'IMG_EXTENSIONS', 'collect_image_files', 'derain_files', 'derain_image',
    'derain_tensor_tiled', 'init_derainer'
]
