"""rosbag2 without ROS: read, synchronise, convert to datasets, write and record (MCAP, sqlite3).

Modules: :mod:`.messages` (message builders and decoders), :mod:`.reader`, :mod:`.sync`,
:mod:`.convert` (bag to dataset), :mod:`.writer`, :mod:`.record` (simulated episodes as bags).
"""
