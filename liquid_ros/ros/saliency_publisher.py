"""``~/saliency``: the policy node's view of which camera pixels drive its action."""

from __future__ import annotations

from typing import Any

import numpy as np
from sensor_msgs.msg import Image

from liquid_ros.models.saliency import saliency_maps
from liquid_ros.ros import messages as m
from liquid_ros.runtime.pilot import Pilot


class SaliencyPublisher:
    """Publishes a mono8 saliency map of the frame every ``every`` policy steps.

    The map is gradient x input of the policy's normalised action with respect to the image
    (``liquid_ros.models.saliency``), taken with the recurrent memory the policy had before that
    step, scaled to 0-255 by its own maximum.

    Args:
        node: The policy node (creates the publisher).
        every: Policy steps between maps (>= 1).
    """

    def __init__(self, node: Any, every: int) -> None:
        self.node = node
        self.pub = node.create_publisher(Image, "~/saliency", m.STATUS_QOS)
        self.every = max(1, int(every))
        self._seen = 0

    def update(self, pilot: Pilot, stamp: Any) -> bool:
        """Publish a map if the pilot took its ``every``-th policy step since the last one."""
        steps, step = pilot.counters["policy_steps"], pilot.last_step
        if steps == self._seen or steps % self.every or step is None:
            return False
        self._seen = steps
        sal = saliency_maps(pilot.policy, step.image[None], step.state[None], float(step.dt),
                            step.hidden)[0]
        msg = Image()
        msg.header.stamp, msg.header.frame_id = stamp, "camera_link"
        msg.height, msg.width = sal.shape
        msg.encoding, msg.is_bigendian, msg.step = "mono8", 0, sal.shape[1]
        msg.data = np.clip(sal * 255.0, 0, 255).astype(np.uint8).tobytes()
        self.pub.publish(msg)
        return True

    def destroy(self) -> None:
        """Destroy the publisher."""
        self.node.destroy_publisher(self.pub)
