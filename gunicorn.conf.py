"""gunicorn settings, read when gunicorn starts in this directory (`gunicorn oms.wsgi`).

Each worker takes no more connections than it has threads. gthread then closes a
connection after its response instead of keeping it alive, so every request is
accepted by whichever worker has a free thread. With keep-alive, a client's
connection stayed with the worker that first accepted it: one worker could hold six
busy clients (its threads sharing one interpreter lock) while another held two, and
the slow end of the latency spread was four to seven times the median instead of
about twice. Behind a reverse proxy, connections to the upstream are short-lived
anyway; set GUNICORN_WORKER_CONNECTIONS higher to keep client connections alive.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads)))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))
