"""What the flight-stack adapters share: message import by name, QoS, topic prefixes, main.

The stacks' message packages (px4_msgs, crazyflie_interfaces, mavros_msgs) are not on the
package index and not dependencies of liquid_ros: an adapter imports them when it starts, and a
missing one ends the executable with one line naming it, not a traceback.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Callable
from typing import Any

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

PX4_IN_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                        reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
"""Publishers to ``/fmu/in/*`` (and the simulated PX4's ``/fmu/out/*``): best effort,
transient local, keep last 1, as px4_ros_com's offboard examples publish."""
PX4_OUT_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                         reliability=ReliabilityPolicy.BEST_EFFORT,
                         durability=DurabilityPolicy.VOLATILE)
"""Subscriptions to ``/fmu/out/*`` (and the simulated PX4's ``/fmu/in/*``): best effort,
volatile (sensor-data QoS, as the PX4 ROS 2 guide recommends); compatible with a best-effort
publisher of either durability."""


PX4_COMMAND_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                             reliability=ReliabilityPolicy.BEST_EFFORT,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
"""VehicleCommand publisher: as ``PX4_IN_QOS`` with room for commands sent back to back."""


class MissingMessagePackage(RuntimeError):
    """A flight stack's message package is not installed."""


def import_types(package: str, kind: str, names: list[str]) -> list[Any]:
    """Message (or service) classes ``package.kind.Name`` for each of ``names``.

    Raises:
        MissingMessagePackage: The package (or one of the types) does not import; the message
            names the package and how to get it.
    """
    try:
        module = importlib.import_module(f"{package}.{kind}")
        return [getattr(module, n) for n in names]
    except (ImportError, AttributeError) as exc:
        raise MissingMessagePackage(
            f"the ROS message package {package} is not installed ({exc}); source a workspace "
            f"that builds it, or build the subset kept in liquid_ros's interfaces/ with "
            f"tools/build-interfaces (see interfaces/README.md)") from None


def px4_topic(prefix: str, name: str) -> str:
    """Absolute PX4 topic ``<prefix>/fmu/<name>``; ``prefix`` '' or e.g. 'px4_1' / '/px4_1'."""
    p = prefix.strip().strip("/")
    return f"/{p}/fmu/{name}" if p else f"/fmu/{name}"


def run_node(prog: str, make: Callable[[], Any], args: list[str] | None,
             start: Callable[[Any], Any] | None = None) -> int:
    """Init rclpy, spin ``make()`` (after ``start(node)``) until shutdown.

    A missing message package prints one line.

    Returns:
        Exit status: 0, or 1 when a message package is missing.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = None
    try:
        node = make()
        if start is not None:
            start(node)
        rclpy.spin(node)
    except MissingMessagePackage as exc:
        print(f"{prog}: {exc}", file=sys.stderr, flush=True)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # Launch forwards SIGINT on top of the terminal's own: ignore repeats while tearing down.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
