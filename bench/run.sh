#!/usr/bin/env bash
# Order-intake benchmark: OMS, the peer and the SQL limit, one after the other, at the same
# client counts (OMS also with every order paid by card), then invoicing through one Celery
# worker; writes docs/benchmarks.md. Everything runs on 127.0.0.1.
#
#   bash bench/run.sh [SECONDS [CLIENTS...]]      e.g. bash bench/run.sh 20 1 4 16
#
# Settings (environment): BENCH_SECONDS (20), BENCH_CLIENTS ("1 4 16"), BENCH_WARMUP (3),
# BENCH_CARD_CLIENTS ("16": client counts also run with card payments; "" for none),
# BENCH_INVOICES (200 shipped orders invoiced by one worker; 0 to skip),
# BENCH_INVOICING_DATABASE_URL (oms_bench_invoicing, dropped and recreated),
# BENCH_INVOICING_REDIS_URL (database 12, emptied),
# BENCH_DATABASE_URL (dropped and recreated; its name must contain "bench"),
# BENCH_REDIS_URL (emptied before and after), BENCH_PORT (58100, or the next free port),
# OMS_BENCH_PEER_DIR (the peer scripts; default ../shared/bench-peer from the repo root).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BIN=${VENV:-.venv}/bin
PY=$BIN/python

seconds=${1:-${BENCH_SECONDS:-20}}
if [ $# -gt 1 ]; then shift; clients="$*"; else clients=${BENCH_CLIENTS:-"1 4 16"}; fi
warmup=${BENCH_WARMUP:-3}
card_clients=${BENCH_CARD_CLIENTS-16}
invoices=${BENCH_INVOICES:-200}
peer_dir=${OMS_BENCH_PEER_DIR:-$root/../shared/bench-peer}
command_line=${BENCH_COMMAND:-bash bench/run.sh}

# Production settings from the environment, as the README describes them; only what a
# loopback benchmark needs is relaxed (no TLS in front of gunicorn).
export DJANGO_SETTINGS_MODULE=oms.settings.base
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/oms_bench}
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14}
export SECRET_KEY
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export ALLOWED_HOSTS=127.0.0.1,localhost
export DEBUG=false
export SECURE_SSL_REDIRECT=false
export SESSION_COOKIE_SECURE=false
export CSRF_COOKIE_SECURE=false
export LOG_LEVEL=${LOG_LEVEL:-WARNING}
# As deployed in production: a relay process publishes the outbox, requests only write it.
export OMS_OUTBOX_RELAY=${OMS_OUTBOX_RELAY:-process}
# The load generator's one API key sends more than a client may (6000/min, counted
# across the server's processes in Redis): every request is still counted, none refused.
export OMS_API_THROTTLE_RATE=${OMS_API_THROTTLE_RATE:-10000000/min}

work=$(mktemp -d "${TMPDIR:-/tmp}/oms-bench.XXXXXX")
gpid=""
wpid=""
rpid=""

stop_oms() {
  if [ -n "$gpid" ]; then
    kill -TERM "$gpid" 2>/dev/null || true
    wait "$gpid" 2>/dev/null || true
    gpid=""
  fi
  if [ -n "${rpid:-}" ]; then
    kill -TERM "$rpid" 2>/dev/null || true
    wait "$rpid" 2>/dev/null || true
    rpid=""
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_oms
  if [ -n "$wpid" ]; then kill "$wpid" 2>/dev/null || true; fi
  "$PY" bench/intake.py dropdb >/dev/null 2>&1 || echo "could not drop the benchmark database" >&2
  "$PY" bench/intake.py flushredis >/dev/null 2>&1 || true
  if [ "${reserved_changed:-}" = 1 ]; then
    echo "$reserved_before" >"$reserved_file" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The peers configure themselves; none of the settings above may leak into them.
oms_vars=(DJANGO_SETTINGS_MODULE DATABASE_URL REDIS_URL SECRET_KEY ALLOWED_HOSTS DEBUG
  SECURE_SSL_REDIRECT SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE LOG_LEVEL OMS_OUTBOX_RELAY
  OMS_API_THROTTLE_RATE)
peer() { env "${oms_vars[@]/#/--unset=}" bash "$@"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for_peer_exit() {
  for _ in $(seq 120); do
    if ! port_in_use 58000 && ! port_in_use 55432; then return 0; fi
    sleep 0.5
  done
  echo "the peer's server or database is still up after 60 s" >&2
}
# Whether a server could listen on the port now: nothing listens there, and no socket
# (a load generator's connection that has just closed, say) still holds it locally.
port_bindable() {
  "$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
wait_for_port() {
  for _ in $(seq 120); do
    if port_bindable "$1"; then return 0; fi
    sleep 0.5
  done
  echo "port $1 is still taken after 60 s" >&2
}
port=${BENCH_PORT:-58100}
while port_in_use "$port" || ! port_bindable "$port"; do port=$((port + 1)); done

start_oms() {
  wait_for_port "$port"
  # With OMS_OUTBOX_RELAY=process (the default here) the outbox is published by a relay
  # process beside the server; its CPU is counted with the server's.
  if [ "$OMS_OUTBOX_RELAY" = process ]; then
    "$PY" manage.py relay_outbox >>"$work/relay.log" 2>&1 &
    rpid=$!
  fi
  # The repository's gunicorn.conf.py (read from this directory) is the production
  # shape: 4 workers x 4 threads, at most 4 connections per worker.
  "$BIN/gunicorn" oms.wsgi:application --bind "127.0.0.1:$port" --log-level warning \
    >>"$work/gunicorn.log" 2>&1 &
  gpid=$!
  if ! "$PY" bench/intake.py wait --port "$port"; then
    tail -n 30 "$work/gunicorn.log" >&2
    exit 1
  fi
}

peer_note=""
sql_note=""
if [ ! -d "$peer_dir" ]; then
  peer_note="skipped: peer scripts not found (set OMS_BENCH_PEER_DIR)"
  sql_note=$peer_note
elif [ "$(id -u)" != 0 ]; then
  peer_note="skipped: the peer scripts start their own PostgreSQL and need root"
  sql_note=$peer_note
fi
if [ -n "$peer_note" ]; then echo "peer and SQL limit $peer_note"; fi

# OMS's server closes each connection after its response (gunicorn.conf.py), so the
# load generator goes through thousands of ephemeral client ports, and a closed one
# waits a minute before it can be bound again. OMS and the peers listen on fixed ports
# inside the ephemeral range: keep those out of it while the benchmark runs.
reserved_file=/proc/sys/net/ipv4/ip_local_reserved_ports
reserved_before=""
if [ -w "$reserved_file" ]; then
  reserved_before=$(cat "$reserved_file")
  ports=$port
  if [ -z "$peer_note" ]; then ports="$ports,55432,55433,58000"; fi
  echo "${reserved_before:+$reserved_before,}$ports" >"$reserved_file"
  reserved_changed=1
fi

if [ -z "$peer_note" ]; then wait_for_peer_exit; fi
echo "== setup: database, migrations, seed (DJANGO_SETTINGS_MODULE=$DJANGO_SETTINGS_MODULE)"
"$PY" bench/intake.py createdb
"$PY" bench/intake.py flushredis
"$PY" manage.py migrate --noinput -v 0
"$PY" bench/intake.py seed --state "$work/state.json"
"$PY" bench/intake.py meta --out "$work/meta.json" --command-line "$command_line" \
  --seconds "$seconds" --warmup "$warmup" --clients "$clients" \
  --card-clients "$card_clients" --invoicing-orders "$invoices" \
  --peer-note "$peer_note" --sql-note "$sql_note"

echo "== SQL queries per order (in process)"
"$PY" bench/intake.py queries --state "$work/state.json" --out "$work/queries.json"

for c in $clients; do
  echo "== $c client(s), ${seconds}s each"
  start_oms
  "$PY" bench/intake.py load --state "$work/state.json" --port "$port" --clients "$c" \
    --seconds "$seconds" --warmup "$warmup" --server-pid "$gpid" ${rpid:+--relay-pid "$rpid"} \
    --out "$work/oms-$c.json" ||
    echo "OMS load run failed" >&2
  stop_oms
  if [[ " $card_clients " == *" $c "* ]]; then
    # The same load with every order paid by card (the test provider's token).
    start_oms
    "$PY" bench/intake.py load --state "$work/state.json" --port "$port" --clients "$c" \
      --seconds "$seconds" --warmup "$warmup" --server-pid "$gpid" ${rpid:+--relay-pid "$rpid"} \
      --card --out "$work/oms-card-$c.json" ||
      echo "OMS card load run failed" >&2
    stop_oms
  fi
  if [ -z "$peer_note" ]; then
    # CPU per order of the peer too (its server and database, while its load runs): a
    # comparison that noise from other work on the machine hardly moves.
    "$PY" bench/intake.py cpuwatch --server-match wsgi_app:application \
      --load-match "load.py $c " --db-port 55432 --db-name oscar --skip "$warmup" \
      --out "$work/peer-$c.cpu.json" &
    wpid=$!
    if peer "$peer_dir/oscar/run.sh" throughput "$c" "$seconds" \
      >"$work/peer-$c.txt" 2>"$work/peer-$c.err"; then
      cut -d' ' -f1 /proc/loadavg >"$work/peer-$c.load" 2>/dev/null || true
      echo "peer $(grep -E 'orders/s=' "$work/peer-$c.txt" || echo 'printed no result')"
    else
      echo "peer run failed:" >&2
      tail -n 5 "$work/peer-$c.err" >&2
    fi
    # The peer stops its server and database without waiting for them: let them go
    # before anything else is measured (and before its next run needs their ports).
    wait_for_peer_exit
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$wpid" 2>/dev/null || break; sleep 0.5; done
    kill "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    wpid=""
    if peer "$peer_dir/sql-limit/run.sh" "$c" "$seconds" \
      >"$work/sql-$c.txt" 2>"$work/sql-$c.err"; then
      cut -d' ' -f1 /proc/loadavg >"$work/sql-$c.load" 2>/dev/null || true
      echo "SQL limit $(grep -E '^tps' "$work/sql-$c.txt" || echo 'printed no result')"
    else
      echo "SQL limit run failed:" >&2
      tail -n 5 "$work/sql-$c.err" >&2
    fi
  fi
done

# Whitenoise warns about the missing static root (the API serves no static files);
# gthread notes that keep-alive is off (gunicorn.conf.py turns it off on purpose).
server_log=$(grep -v -e 'No directory at' -e 'mw_instance = ' -e 'No keepalived connections' \
  "$work/gunicorn.log" || true)
if [ -n "$server_log" ]; then
  echo "== gunicorn log (last lines)"
  tail -n 20 <<<"$server_log"
fi
if [ "$invoices" -gt 0 ]; then
  echo "== invoicing: $invoices shipped orders, one Celery worker"
  "$PY" bench/invoicing.py --orders "$invoices" --out "$work/invoicing.json" ||
    echo "invoicing run failed" >&2
fi
"$PY" bench/intake.py report --results "$work"
