#!/usr/bin/env bash
# Serve the demo: the web server, plus a Celery worker, beat and the outbox relay when
# REDIS_URL is set (requests then only write their outbox rows; the relay publishes them).
set -euo pipefail
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
BIN=${VENV:-.venv}/bin
# The demo runs on the developer settings; gunicorn and Celery default to production's.
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-oms.settings.local}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [ -n "${REDIS_URL:-}" ]; then
  "$BIN/celery" -A oms worker --loglevel=INFO --concurrency=2 &
  pids+=($!)
  "$BIN/celery" -A oms beat --loglevel=INFO &
  pids+=($!)
  export OMS_OUTBOX_RELAY=process
  "$BIN/python" manage.py relay_outbox &
  pids+=($!)
  echo "Celery worker, beat and outbox relay started on $REDIS_URL"
else
  echo "No REDIS_URL: background tasks run inline (eager mode)."
fi

"$BIN/python" manage.py demo_logins --url "http://$HOST:$PORT"
"$BIN/python" manage.py runserver "$HOST:$PORT" --noreload
