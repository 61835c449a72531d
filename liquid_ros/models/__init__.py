"""liquid_ros.models: wirings, LTC/CfC networks, the image policy, checkpoints and export."""

from liquid_ros.models.cfc import CfC
from liquid_ros.models.cfc_cell import CfCCell, WiredCfCCell
from liquid_ros.models.checkpoint import CheckpointError, load_policy, save_policy
from liquid_ros.models.convert import from_ncps, model_from_config
from liquid_ros.models.export import export_torchscript, flat_state_size
from liquid_ros.models.ltc import LTCCell
from liquid_ros.models.ltc_rnn import LTC
from liquid_ros.models.ncp import NCP, AutoNCP
from liquid_ros.models.plot import plot_wiring
from liquid_ros.models.policy import LiquidPolicy, PolicyConfig
from liquid_ros.models.wiring import FullyConnected, Random, Wiring

__all__ = [
    "NCP", "AutoNCP", "CfC", "CfCCell", "CheckpointError", "FullyConnected", "LTC", "LTCCell",
    "LiquidPolicy", "PolicyConfig", "Random", "WiredCfCCell", "Wiring", "export_torchscript",
    "flat_state_size", "from_ncps", "load_policy", "model_from_config", "plot_wiring",
    "save_policy",
]
