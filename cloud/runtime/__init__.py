"""The composition root: the app factory, the runtime container, the server and the CLI.

The only place that knows every part; nothing imports it but the launchers and tests.
"""
