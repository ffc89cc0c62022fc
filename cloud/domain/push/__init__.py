"""Web Push: a student's notifications reach their browser with the page closed.

``keys`` keeps the VAPID key pair, ``store`` the browsers' subscriptions, ``send`` delivers
after commit on worker threads (never on a request or the ingest loop), ``router`` is
``/api/v1/push``.
"""
