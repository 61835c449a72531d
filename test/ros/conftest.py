"""Fixtures for the ROS tests: rclpy context, an executor, and a test peer node."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import rclpy
import torch
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node


@pytest.fixture
def ros():
    """Initialised rclpy; shut down after the test."""
    torch.set_num_threads(1)
    rclpy.init()
    yield
    rclpy.try_shutdown()


class Harness:
    """Spins nodes in the test thread and records what arrives."""

    def __init__(self) -> None:
        self.executor = SingleThreadedExecutor()
        self.peer = Node("test_peer")
        self.executor.add_node(self.peer)
        self.nodes: list[Node] = [self.peer]

    def add(self, node: Node) -> Node:
        self.executor.add_node(node)
        self.nodes.append(node)
        return node

    def spin(self, seconds: float, every: Callable[[], None] | None = None,
             period: float = 0.01) -> None:
        """Spin for ``seconds`` (wall), calling ``every`` each ``period`` s."""
        end = time.monotonic() + seconds
        nxt = time.monotonic()
        while time.monotonic() < end:
            if every is not None and time.monotonic() >= nxt:
                every()
                nxt += period
            self.executor.spin_once(timeout_sec=0.002)

    def spin_until(self, cond: Callable[[], bool], timeout: float,
                   every: Callable[[], None] | None = None, period: float = 0.01) -> bool:
        end = time.monotonic() + timeout
        nxt = time.monotonic()
        while time.monotonic() < end:
            if cond():
                return True
            if every is not None and time.monotonic() >= nxt:
                every()
                nxt += period
            self.executor.spin_once(timeout_sec=0.002)
        return cond()

    def call(self, client, request, timeout: float = 5.0):
        # Discovery of a new service can take seconds on a loaded machine (a fresh `make test`
        # saw 5 s pass once, and once a service already called went unseen for 15 s); waiting
        # longer, spinning the nodes meanwhile, costs nothing when it is there.
        ready = client.wait_for_service(timeout_sec=timeout) or self.spin_until(
            client.service_is_ready, 8 * timeout)
        assert ready, client.srv_name
        fut = client.call_async(request)
        self.spin_until(fut.done, timeout)
        assert fut.done(), f"no reply from {client.srv_name}"
        return fut.result()

    def close(self) -> None:
        for n in self.nodes:
            self.executor.remove_node(n)
            n.destroy_node()
        self.executor.shutdown()


@pytest.fixture
def harness(ros):
    h = Harness()
    yield h
    h.close()


@pytest.fixture
def in_bounds():
    """The bounds check of published wrenches."""
    return _in_bounds


def _in_bounds(wrench: np.ndarray) -> bool:
    """Finite and within the Crazyflie's thrust and torque limits."""
    from liquid_ros.control.quadrotor import CF2X
    w = np.asarray(wrench)
    return bool(np.all(np.isfinite(w)) and 0.0 <= w[0] <= CF2X.max_thrust + 1e-9
                and np.all(np.abs(w[1:]) <= CF2X.max_torque + 1e-9))
