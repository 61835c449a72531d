"""liquid_ros.ros."""
