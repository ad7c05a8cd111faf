"""gunicorn settings, read when gunicorn starts in this directory (`gunicorn oms.wsgi`).

Each worker process serves at most as many connections as it has threads: a client's
keep-alive connection stays with the worker that accepted it, and without this cap
one worker could hold several busy connections (its threads sharing one interpreter
lock) while another sat idle, which stretched the slow end of the latency spread
several times over. With it, a busy worker leaves new connections to the others.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads)))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "2"))
