"""``python -m liquid_ros.cli``: the ``liquid-ros`` command."""

import sys

from liquid_ros.cli.main import main

sys.exit(main())
