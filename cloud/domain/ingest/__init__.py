"""MQTT ingest: validate every message from the rooms, apply it once, tell the live clients."""
