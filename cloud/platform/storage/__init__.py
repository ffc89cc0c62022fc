"""The cloud's storage: SQLAlchemy Core tables, the engine, migrations and the repository.

Written once for SQLite (the embedded default) and PostgreSQL (shared by replicas).
"""
