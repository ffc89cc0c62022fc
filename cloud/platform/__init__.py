"""The platform layer: what every part of the cloud stands on and that knows no laundry.

Settings, the error tree, storage (tables, engine, migrations, repository), the hub of
live clients, the unit of work, pagination and who is asking (``viewer``). Imports only
the kernel (``kywash``) and libraries, and nothing of FastAPI but the query-parameter types
of ``pagination``.
"""
