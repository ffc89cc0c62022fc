"""Notification texts: the shared text machinery lives in ``cloud.platform.texts`` (errors,
activity entries and alarm titles are rendered by it too); this name stays for its callers."""

from __future__ import annotations

from cloud.platform.texts import Clock, Day, Machine, Text, catalog, render, text

__all__ = ["Clock", "Day", "Machine", "Text", "catalog", "render", "text"]
