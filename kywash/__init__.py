"""KY Wash's shared kernel: only what the edge, the cloud and the simulator all import.

The MQTT contract, clocks, socket and signal helpers. It imports nothing of the rest, so
any part can depend on it; what starts and wires the parts lives in ``launchers``.
"""

__version__ = "0.1.0"
