"""Technician tools run on the room's Pi: record a machine's current, calibrate its thresholds."""
