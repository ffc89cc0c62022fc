"""The domain layer: one package per part of a laundry room's life, each taking explicit
collaborators (a ``Tx`` or a connection, a clock, settings), never the running app.

Layered among themselves (pyproject's ``domain-layers`` contract), lowest first:
``activity | notifications | push`` → ``accounts`` → ``laundry`` → ``machines`` →
``faults | dashboards | ingest`` → ``rooms``. Where two domains must act together when a
machine moves, that is ``cloud.policy``'s business.
"""
