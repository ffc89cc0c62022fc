"""The KY Wash cloud service: MQTT ingest, storage, REST and WebSocket API, web app."""
