"""The HTTP interface: FastAPI dependencies (``deps``, ``auth``), the error responses
(``errors``), metrics endpoints, the routers and the web app's static files.

Routes see the running app only as ``deps.Runtime``; they call domain and policy
functions inside a ``TxDep`` unit of work that commits before the response is built.
"""
