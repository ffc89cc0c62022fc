"""The processes layer: what runs on its own while the app is up.

Ingest (the MQTT source and the runner that applies each message), the timers, the web
push workers, replica fan-out, the bulk dashboard publishing, and the delivery that
renders a committed transaction's changes into live messages and room summaries.
"""
