"""``sensor_msgs/Image`` <-> numpy for the nodes, without cv_bridge.

Decoding lives in :mod:`liquid_ros.runtime.decoding`, shared with the bag reader so a policy
trained from a recording sees the pixels the node feeds it; the names below are that module's,
kept under the node's historical names. Only building an Image message is node-specific.
"""

from __future__ import annotations

import array
from typing import Any

import numpy as np

from liquid_ros.runtime.decoding import (
    ENCODINGS,
    array_to_rgb8,
    image_to_array,
    resize,
)
from liquid_ros.runtime.decoding import ImageDecodeError as ImageConversionError
from liquid_ros.runtime.decoding import compressed_to_rgb as compressed_msg_to_rgb
from liquid_ros.runtime.decoding import image_to_rgb as image_msg_to_rgb

__all__ = ["ENCODINGS", "ImageConversionError", "array_to_rgb8", "compressed_msg_to_rgb",
           "image_msg_to_rgb", "image_to_array", "resize", "rgb_to_image_msg"]


def rgb_to_image_msg(rgb: np.ndarray, msg: Any) -> Any:
    """Fill a ``sensor_msgs/Image`` ``msg`` (header untouched) from RGB uint8 (H, W, 3)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1] * 3)
    msg.data = array.array("B", rgb.tobytes())
    return msg
