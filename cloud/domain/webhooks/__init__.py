"""Outgoing webhooks: staff subscribe a URL to events; each event is queued in the database,
in the transaction that made it, and sent (signed as Standard Webhooks specify) by
``cloud.processes.webhook_sender``. ``enqueue_webhooks`` (``queue.py``) is what the rest of the
cloud calls."""
