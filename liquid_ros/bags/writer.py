"""Write rosbag2 recordings (MCAP or sqlite3) without ROS, through ``rosbags``' writer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from liquid_ros.bags.messages import typestore

STORAGES = ("mcap", "sqlite3")
"""Storage plugins that can be written."""


class BagWriter:
    """A rosbag2 folder being written; topics are added on first use.

    Use as a context manager; the folder must not exist yet. Messages should be written in
    non-decreasing receive time, as a recorder would.

    Args:
        path: Bag folder to create.
        storage: ``"mcap"`` or ``"sqlite3"``.
        custom: ``custom_data`` entries of ``metadata.yaml`` (strings).
    """

    def __init__(self, path: str | os.PathLike[str], storage: str = "mcap",
                 custom: dict[str, str] | None = None) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
        self.path = Path(path)
        if self.path.exists():
            raise ValueError(f"path: {self.path} exists already; bags are never overwritten")
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._custom = dict(custom or {})
        self._conns: dict[str, Any] = {}

    def __enter__(self) -> BagWriter:
        """Open the bag."""
        self._writer.open()
        for key, value in self._custom.items():
            self._writer.set_custom_data(key, str(value))
        return self

    def __exit__(self, *exc: object) -> None:
        """Finish the bag (metadata and index)."""
        self._writer.close()

    def set_custom(self, key: str, value: str) -> None:
        """Set a ``custom_data`` entry of ``metadata.yaml`` (written when the bag closes)."""
        self._writer.set_custom_data(key, str(value))

    def connection(self, topic: str, msgtype: str) -> Any:
        """The connection of ``topic`` (added with ``msgtype`` on first use)."""
        conn = self._conns.get(topic)
        if conn is None:
            conn = self._writer.add_connection(topic, msgtype, typestore=typestore())
            self._conns[topic] = conn
        elif conn.msgtype != msgtype:
            raise ValueError(f"topic {topic!r} already has type {conn.msgtype}, not {msgtype}")
        return conn

    def write(self, topic: str, t_ns: int, msg: Any) -> None:
        """Serialise ``msg`` (a ``rosbags`` message) onto ``topic`` at receive time ``t_ns``."""
        conn = self.connection(topic, msg.__msgtype__)
        self._writer.write(conn, int(t_ns), typestore().serialize_cdr(msg, msg.__msgtype__))

    def write_raw(self, topic: str, msgtype: str, t_ns: int, data: bytes) -> None:
        """Write already serialised (or deliberately broken, for tests) bytes."""
        self._writer.write(self.connection(topic, msgtype), int(t_ns), data)
