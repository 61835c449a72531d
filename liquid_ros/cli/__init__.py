"""The ``liquid-ros`` command line: :mod:`.main` dispatches to one module per command.

Each command module declares its options as a frozen dataclass (shared ones in :mod:`.options`),
parses them with :mod:`.flags` and calls the library; it holds no library logic itself.
"""

from liquid_ros.cli.main import SUBCOMMANDS, main

__all__ = ["SUBCOMMANDS", "main"]
