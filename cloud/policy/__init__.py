"""The policy layer: the one place for what happens across domains when a machine moves.

Claims following the sensors, holds withdrawn and offered, fault suspicion, a fault
threshold taking a machine out of service, service changes reaching claims and waitlists,
and staff commands from MQTT dashboards. Runs inside the caller's unit of work.
"""
