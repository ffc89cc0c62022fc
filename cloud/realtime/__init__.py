"""Live updates: a hub that fans changes out to WebSocket clients, and the ``/api/ws`` endpoint."""
