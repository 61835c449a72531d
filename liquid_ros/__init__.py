"""liquid_ros: liquid neural networks (LTC, CfC, NCP) flying ROS 2 robots behind a safety filter.

Layers: ``models`` (liquid cells, policies), ``safety`` (CBF-QP filter), ``control`` and ``sim``
(quadrotor, PyBullet tasks), ``train`` (imitation, evaluation) and ``ros`` (rclpy nodes).
"""

__version__ = "0.1.0"
