"""Notifications to one student: stored, listed, marked read, pushed live."""
