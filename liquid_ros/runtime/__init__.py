"""liquid_ros.runtime: what the node, the simulator and the bag reader share (ROS-free).

``decoding`` turns camera images and odometry (rclpy messages or rosbags dataclasses) into
numpy arrays, the same way on every path. Submodules are imported by name, so importing this
package stays cheap.
"""
