"""One router per resource under ``/api/v1`` (and ``/api/ws``, ``/api/health``)."""
