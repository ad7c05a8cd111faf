#!/usr/bin/env bash
# Serve the demo: the web server, plus a Celery worker and beat when REDIS_URL is set.
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
BIN=${VENV:-.venv}/bin

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [ -n "${REDIS_URL:-}" ]; then
  "$BIN/celery" -A oms worker --loglevel=INFO --concurrency=2 &
  pids+=($!)
  "$BIN/celery" -A oms beat --loglevel=INFO &
  pids+=($!)
  echo "Celery worker and beat started on $REDIS_URL"
else
  echo "No REDIS_URL: background tasks run inline (eager mode)."
fi

"$BIN/python" manage.py demo_logins --url "http://$HOST:$PORT"
"$BIN/python" manage.py runserver "$HOST:$PORT" --noreload
