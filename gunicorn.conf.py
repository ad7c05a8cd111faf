"""gunicorn settings, read when gunicorn starts in this directory (`gunicorn oms.wsgi`).

Each worker takes no more connections than it has threads. gthread then closes a
connection after its response instead of keeping it alive, so every request is
accepted by whichever worker has a free thread. With keep-alive, a client's
connection stayed with the worker that first accepted it: one worker could hold six
busy clients (its threads sharing one interpreter lock) while another held two, and
the slow end of the latency spread was four to seven times the median instead of
about twice. Behind a reverse proxy, connections to the upstream are short-lived
anyway; set GUNICORN_WORKER_CONNECTIONS higher to keep client connections alive.

Database connections come from a pool in each worker (``DATABASE_POOL_MAX``, by default
one per thread; oms.settings.base): a thread borrows one for a request and gives it back
after, so connections are opened once per worker, not per thread or per request, and
the database sees at most workers x DATABASE_POOL_MAX of them from the web server
whatever the number of clients. More clients than threads wait in the listen backlog
(``GUNICORN_BACKLOG``), not in the database. Set DATABASE_POOL_MAX=0 for no pool (one
persistent connection per thread, DB_CONN_MAX_AGE), e.g. behind PgBouncer.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads)))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
# Read by the workers' settings (this file runs in the master before they start).
os.environ.setdefault("DATABASE_POOL_MAX", str(threads))
