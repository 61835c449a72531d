"""Read the topics of a rosbag2 recording (MCAP or sqlite3) into timestamped numpy streams.

The ``rosbags`` library reads the storage (a bag folder with ``metadata.yaml``, or a single
``.mcap`` / ``.db3`` file) and deserialises the CDR payloads; nothing here parses bag bytes.

Timestamps: each message's ``header.stamp`` (the time the data was taken), except on a topic
whose stamps are all zero (a publisher that never fills the header), which falls back to the
bag's receive time; ``stamps="receive"`` uses receive times throughout.

Bad recordings (each check names the file, the topic and the time):

* Unreadable, truncated or corrupted files raise :class:`BagError`; with ``keep_truncated`` the
  messages before the damage are kept and a warning says where it stopped.
* Missing topics and unsupported message types raise :class:`BagError` listing what the bag has.
* Undecodable payloads and invalid values (non-finite odometry, a bad image) are skipped and
  counted (``corrupt``, ``invalid``).
* Stamps out of order by less than ``max_backjump`` are sorted and counted (``reordered``);
  a larger backwards jump (a clock reset, two runs in one file) raises :class:`BagError`.
* Repeated stamps keep the first message and count the rest (``duplicate``): two samples at one
  instant would mean a zero time step.

With ``strict`` every skip above is an error instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from liquid_ros.bags import messages as bm
from liquid_ros.runtime import decoding

ROLE_TYPES: dict[str, tuple[str, ...]] = {
    "image": bm.IMAGE_TYPES, "odom": (bm.ODOMETRY,), "command": bm.COMMAND_TYPES,
    "goal": bm.GOAL_TYPES}
"""Message types accepted per stream role."""


class BagError(ValueError):
    """A recording cannot be used; the message names the file, and the topic and time."""


@dataclass(frozen=True)
class ReadConfig:
    """How a bag is read and how damaged or irregular data is treated."""

    stamps: str = "header"
    """``"header"`` (header stamps; receive time on topics with all-zero stamps) or
    ``"receive"`` (the bag's receive time)."""
    max_backjump: float = 1.0
    """Largest backwards step (s) of a topic's stamps that is sorted out as reordering;
    a larger one is an error."""
    strict: bool = False
    """Raise on anything that would otherwise be skipped and counted."""
    keep_truncated: bool = False
    """On a damaged file keep the messages read before the damage (with a warning)."""
    image_size: tuple[int, int] = (64, 64)
    """Images are resized to this (height, width) in pixels."""
    resize: decoding.ResizeMethod = "area"
    """How images are resized: ``"area"`` (the node's default: mean over each output pixel's
    source cell) or ``"nearest"`` (see :func:`liquid_ros.runtime.decoding.resize`)."""
    progress: bool = True
    """Show a tqdm progress bar over the messages (on a terminal)."""

    def __post_init__(self) -> None:
        """Validate the fields (ValueError naming the field)."""
        if self.stamps not in ("header", "receive"):
            raise ValueError(f"stamps must be 'header' or 'receive', got {self.stamps!r}")
        if not (self.max_backjump >= 0.0 and np.isfinite(self.max_backjump)):
            raise ValueError(f"max_backjump must be >= 0 s, got {self.max_backjump!r}")
        h, w = self.image_size
        if not (isinstance(h, int) and isinstance(w, int) and 8 <= h <= 1024 and 8 <= w <= 1024):
            raise ValueError(f"image_size must be two integers in [8, 1024], got "
                             f"{self.image_size!r}")
        if self.resize not in ("area", "nearest"):
            raise ValueError(f"resize must be 'area' or 'nearest', got {self.resize!r}")


@dataclass
class TopicStream:
    """One topic's messages, sorted by time, duplicates removed."""

    role: str
    """``image``, ``odom``, ``command`` or ``goal``."""
    topic: str
    """Topic name as stored in the bag."""
    msgtype: str
    """ROS message type, e.g. ``sensor_msgs/msg/Image``."""
    stamps: np.ndarray
    """(N,) int64 time of each message (ns)."""
    values: np.ndarray
    """(N, ...) decoded data: images (N, H, W, 3) uint8, odometry (N, 13) (position, quaternion
    x,y,z,w, world velocity, body rate: ``OdomSample.vector()`` of
    :mod:`liquid_ros.runtime.decoding`), commands (N, 6), goals (N, 3) float64."""
    stamp_source: str = "header"
    """``header`` or ``receive`` (see the module doc)."""
    frame_id: str = ""
    """``header.frame_id`` of the first message."""
    counts: dict[str, int] = field(default_factory=dict)
    """Messages ``read``, skipped as ``corrupt``/``invalid``/``duplicate``, and ``reordered``."""


@dataclass
class BagData:
    """The streams of one bag and what happened while reading it."""

    path: Path
    """The bag (folder or file)."""
    streams: dict[str, TopicStream]
    """Stream per role."""
    custom: dict[str, str]
    """``custom_data`` of the bag's metadata (empty for single files)."""
    warnings: list[str]
    """Non-fatal findings, one line each."""


def fmt_time(t_ns: int) -> str:
    """A stamp for messages: seconds with nanosecond digits."""
    return f"t={int(t_ns) / 1e9:.9f} s"


def _norm(topic: str) -> str:
    return topic.strip().lstrip("/")


def _open(path: Path) -> Any:
    from rosbags.rosbag2 import Reader

    if not path.exists():
        raise BagError(f"{path}: no such bag (folder or .mcap/.db3 file)")
    try:
        reader = Reader(path)
        reader.open()
    except Exception as err:  # rosbags, sqlite3, yaml and OS errors all mean unreadable
        raise BagError(f"{path}: cannot open the recording: truncated, corrupted or not "
                       f"rosbag2 ({type(err).__name__}: {err})") from err
    return reader


def _connections(reader: Any, path: Path, topics: dict[str, str]) -> dict[str, list[Any]]:
    """Connections per role; BagError for a missing topic or an unsupported type."""
    by_topic: dict[str, list[Any]] = {}
    for conn in reader.connections:
        by_topic.setdefault(_norm(conn.topic), []).append(conn)
    listing = ", ".join(f"{t} ({c[0].msgtype})" for t, c in sorted(by_topic.items())) or "none"
    out = {}
    for role, topic in topics.items():
        conns = by_topic.get(_norm(topic))
        if not conns:
            raise BagError(f"{path}: topic {topic!r} ({role}) is not in the recording; "
                           f"it has: {listing}")
        bad = sorted({c.msgtype for c in conns if c.msgtype not in ROLE_TYPES[role]})
        if bad:
            raise BagError(f"{path}: topic {topic!r} has message type {bad[0]}, which is not "
                           f"supported for the {role} stream (supported: "
                           f"{', '.join(ROLE_TYPES[role])})")
        if len({c.msgtype for c in conns}) > 1:
            raise BagError(f"{path}: topic {topic!r} carries several message types "
                           f"{sorted({c.msgtype for c in conns})}")
        out[role] = conns
    return out


class _Collector:
    """Accumulates one role's decoded messages in a growing buffer."""

    def __init__(self, role: str, topic: str, msgtype: str, capacity: int,
                 config: ReadConfig) -> None:
        self.role, self.topic, self.msgtype, self.config = role, topic, msgtype, config
        shape = {"image": (*config.image_size, 3), "odom": (13,), "command": (6,),
                 "goal": (3,)}[role]
        dtype = np.uint8 if role == "image" else np.float64
        self.values = np.zeros((max(capacity, 16), *shape), dtype)
        self.header: list[int] = []
        self.receive: list[int] = []
        self.frame_id: str | None = None
        self.counts = {"read": 0, "corrupt": 0, "invalid": 0, "duplicate": 0, "reordered": 0}
        self.first_problem: str | None = None

    def decode(self, msg: Any) -> np.ndarray:
        if self.role == "image":
            h, w = self.config.image_size
            return decoding.to_rgb(msg, h, w, self.config.resize)
        if self.role == "odom":
            return decoding.odometry(msg).vector()
        if self.role == "command":
            return bm.decode_command(msg, self.msgtype)
        return bm.decode_goal(msg, self.msgtype)

    def add(self, receive_ns: int, raw: bytes, path: Path) -> None:
        self.counts["read"] += 1
        try:
            msg = bm.typestore().deserialize_cdr(raw, self.msgtype)
        except Exception as err:  # any deserialiser failure means a corrupt payload
            self.skip("corrupt", receive_ns, f"payload does not deserialise ({err})", path)
            return
        try:
            value = self.decode(msg)
        except ValueError as err:
            self.skip("invalid", receive_ns, str(err), path)
            return
        n = len(self.header)
        if n == len(self.values):
            self.values = np.concatenate([self.values, np.zeros_like(self.values)])
        self.values[n] = value
        self.header.append(bm.stamp_ns(msg.header))
        self.receive.append(int(receive_ns))
        if self.frame_id is None:
            self.frame_id = str(msg.header.frame_id)

    def skip(self, kind: str, t_ns: int, why: str, path: Path) -> None:
        self.counts[kind] += 1
        text = f"{path}: topic {self.topic!r} message at {fmt_time(t_ns)}: {why}"
        if self.config.strict:
            raise BagError(text)
        self.first_problem = self.first_problem or text

    def finish(self, path: Path) -> TopicStream:
        n = len(self.header)
        if n == 0:
            why = f"; first problem: {self.first_problem}" if self.first_problem else ""
            raise BagError(f"{path}: topic {self.topic!r} has no usable messages "
                           f"({self.counts['read']} read, {self.counts['corrupt']} corrupt, "
                           f"{self.counts['invalid']} invalid){why}")
        header = np.asarray(self.header, np.int64)
        use_receive = self.config.stamps == "receive" or not header.any()
        t = np.asarray(self.receive, np.int64) if use_receive else header
        values = self.values[:n]
        behind = np.maximum.accumulate(t) - t
        jump = np.flatnonzero(behind > int(round(self.config.max_backjump * 1e9)))
        if jump.size:
            i = int(jump[0])
            raise BagError(
                f"{path}: topic {self.topic!r}: time goes back {behind[i] / 1e9:.3f} s at "
                f"{fmt_time(t[i])} (message {i + 1} of {n}, after {fmt_time(t[:i].max())}); "
                f"the clock was reset or the file joins two runs (limit --max-backjump "
                f"{self.config.max_backjump} s; --stamps receive uses the receive time)")
        self.counts["reordered"] = int(np.count_nonzero(behind))
        if self.counts["reordered"] and self.config.strict:
            i = int(np.flatnonzero(behind)[0])
            raise BagError(
                f"{path}: topic {self.topic!r}: stamps out of order at {fmt_time(t[i])}")
        order = np.argsort(t, kind="stable")
        t, values = t[order], values[order]
        dup = np.concatenate([[False], t[1:] == t[:-1]])
        self.counts["duplicate"] = int(np.count_nonzero(dup))
        if self.counts["duplicate"] and self.config.strict:
            i = int(np.flatnonzero(dup)[0])
            raise BagError(f"{path}: topic {self.topic!r}: duplicate stamp {fmt_time(t[i])}")
        return TopicStream(self.role, self.topic, self.msgtype, t[~dup], values[~dup],
                           "receive" if use_receive else "header", self.frame_id or "",
                           dict(self.counts))


def read_bag(path: str | os.PathLike[str], topics: dict[str, str],
             config: ReadConfig = ReadConfig()) -> BagData:
    """Read the streams named in ``topics`` (role -> topic) from one bag.

    Args:
        path: Bag folder (with ``metadata.yaml``) or a ``.mcap`` / ``.db3`` file.
        topics: Roles ``image``, ``odom``, ``command`` and optionally ``goal``, to topic names
            (a leading ``/`` is optional).
        config: Reading options.

    Returns:
        The streams, the bag's custom metadata and warnings.

    Raises:
        BagError: See the module doc; the message names the file, topic and time.
    """
    path = Path(path)
    unknown = sorted(set(topics) - set(ROLE_TYPES))
    if unknown:
        raise ValueError(f"topics: unknown role(s) {unknown}; roles are {sorted(ROLE_TYPES)}")
    reader = _open(path)
    warnings: list[str] = []
    try:
        conns = _connections(reader, path, topics)
        collectors: dict[int, _Collector] = {}
        by_role: dict[str, _Collector] = {}
        for role, cs in conns.items():
            col = _Collector(role, cs[0].topic, cs[0].msgtype,
                             sum(int(c.msgcount or 0) for c in cs), config)
            by_role[role] = col
            for c in cs:
                collectors[c.id] = col
        total = sum(int(c.msgcount or 0) for cs in conns.values() for c in cs)
        _read_messages(reader, path, [c for cs in conns.values() for c in cs], collectors,
                       total, config, warnings)
        custom = dict(getattr(getattr(reader.storage, "metadata", None), "custom", None) or {})
    finally:
        try:
            reader.close()
        except Exception:  # noqa: BLE001  (closing a damaged file may fail again)
            pass
    streams = {role: col.finish(path) for role, col in by_role.items()}
    for role, col in by_role.items():
        if col.first_problem:
            c = col.counts
            warnings.append(f"skipped {c['corrupt']} corrupt and {c['invalid']} invalid "
                            f"{role} messages; first: {col.first_problem}")
    return BagData(path, streams, {str(k): str(v) for k, v in custom.items()}, warnings)


def _read_messages(reader: Any, path: Path, conns: list[Any], collectors: dict[int, _Collector],
                   total: int, config: ReadConfig, warnings: list[str]) -> None:
    from tqdm import tqdm

    it = reader.messages(connections=conns)
    last = ("(start)", 0)
    with tqdm(total=total or None, desc=f"read {path.name}", unit="msg",
              disable=None if config.progress else True, mininterval=0.5) as bar:
        count = 0
        while True:
            try:
                conn, t_ns, raw = next(it)
            except StopIteration:
                break
            except Exception as err:  # rosbags/sqlite/zstd errors: damaged storage
                where = f"after topic {last[0]!r} {fmt_time(last[1])}"
                text = (f"{path}: the recording is truncated or corrupted {where} "
                        f"({type(err).__name__}: {err})")
                if not config.keep_truncated:
                    raise BagError(text + f"; --keep-truncated uses the {count} messages "
                                   "before it") from err
                warnings.append(text + f"; kept the {count} messages before it")
                break
            collectors[conn.id].add(t_ns, raw, path)
            last = (conn.topic, t_ns)
            count += 1
            if count % 2048 == 0:
                bar.update(2048)
        bar.update(count % 2048)
