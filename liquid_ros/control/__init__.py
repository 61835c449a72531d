"""liquid_ros.control."""
