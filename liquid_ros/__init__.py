"""liquid_ros: liquid neural networks (LTC, CfC, NCP) driving ROS 2 robots behind a safety filter."""

__version__ = "0.1.0"
