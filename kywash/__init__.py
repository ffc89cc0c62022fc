"""KY Wash: shared pieces — the MQTT contract, clocks, the embedded broker and the CLI."""

__version__ = "0.1.0"
