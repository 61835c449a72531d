"""liquid_ros.train."""
