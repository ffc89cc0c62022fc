"""The edge agent that runs on a laundry room's Raspberry Pi: sensors in, MQTT events out."""
