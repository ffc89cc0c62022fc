"""What staff MQTT dashboards see and send: room summaries, Home Assistant discovery, commands."""
