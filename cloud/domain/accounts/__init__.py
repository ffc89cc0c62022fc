"""Accounts: students and staff, PIN/password checks, tokens and sessions."""
