#!/usr/bin/env bash
# Every figure of the benchmark in one run, each beside its references, written to
# docs/benchmarks.md (each section by its own script):
#
# 1. order intake: OMS, the peer and the SQL limit, one after the other, at the same
#    client counts (OMS also with every order paid by card), then invoicing through one
#    Celery worker (bench/intake.py, bench/invoicing.py);
# 2. routing: a backlog drained one order per task, then in batches by 1, 2 and 4
#    workers, deadlocks and double allocations checked (bench/routing.py);
# 3. intake under pressure: a hot SKU at 16 and 64 clients, 64 and 256 clients, batch
#    intake, the stock checked exact, beside the SQL limit (mixed SKUs: the figure of
#    step 1, not measured twice; hot SKU) (bench/pressure.sh);
# 4. the background pipeline: commit -> e-mail p50/p99 and the relay's rate with one
#    worker, 16 and 4 clients at full speed, 16 paced at 8 and 16 orders/s
#    (bench/pipeline.py).
#
# Everything runs on 127.0.0.1. The console and reports at a million orders are apart
# (make bench-console, bench/reports.py): they need the million-order database.
#
#   bash bench/run.sh [SECONDS [CLIENTS...]]      e.g. bash bench/run.sh 20 1 4 16
#
# Settings (environment): BENCH_SECONDS (20: each intake and pipeline run; routing runs
# 3 times as long, pressure at most 15 s; 5 is the short mode, which checks that every
# step runs), BENCH_CLIENTS ("1 4 16"), BENCH_WARMUP (3),
# BENCH_SUITE ("intake routing pressure pipeline": the steps to run; intake always
# runs), BENCH_CARD_CLIENTS ("16": client counts also run with card payments; "" for
# none), BENCH_INVOICES (200 shipped orders invoiced by one worker, or 10 per second
# of BENCH_SECONDS when less; 0 to skip),
# BENCH_ROUTING_ORDERS (the routing backlog: 200000, or 10000 per second of
# BENCH_SECONDS when less: batches drain over 500 orders/s on one worker, and the 1-, 2-
# and 4-worker runs share the backlog, so the last run needs orders left to route), BENCH_PRESSURE_SECONDS (15, or BENCH_SECONDS when less),
# BENCH_PIPELINE_BACKLOG (20000, or 1000 per second of BENCH_SECONDS when less),
# BENCH_INVOICING_DATABASE_URL (oms_bench_invoicing, dropped and recreated),
# BENCH_INVOICING_REDIS_URL (database 12, emptied),
# BENCH_DATABASE_URL (dropped and recreated; its name must contain "bench"),
# BENCH_REDIS_URL (emptied before and after), BENCH_PORT (58100, or the next free port),
# OMS_BENCH_PEER_DIR (the peer scripts; default ../shared/bench-peer from the repo root).
# Each later step has its own database (oms_bench_routing, oms_bench_pressure,
# oms_bench_pipeline) and Redis database (13, 13, 11), dropped and emptied after it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
. bench/lib.sh

seconds=${1:-${BENCH_SECONDS:-20}}
if [ $# -gt 1 ]; then shift; clients="$*"; else clients=${BENCH_CLIENTS:-"1 4 16"}; fi
warmup=${BENCH_WARMUP:-3}
card_clients=${BENCH_CARD_CLIENTS-16}
invoices=${BENCH_INVOICES:-$((seconds >= 20 ? 200 : 10 * seconds))}
suite=${BENCH_SUITE:-"intake routing pressure pipeline"}
command_line=${BENCH_COMMAND:-bash bench/run.sh}

oms_production_env "${BENCH_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/oms_bench}" \
  "${BENCH_REDIS_URL:-redis://127.0.0.1:6379/14}"

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

port=$(free_port "${BENCH_PORT:-58100}")

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

peer_note=$(peer_skip_reason)
sql_note=$peer_note
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
    sql_limit "$c" "$seconds" intake_cond.sql "$work/sql-$c.txt"
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
"$PY" bench/intake.py dropdb >/dev/null 2>&1 || true

step() { [[ " $suite " == *" $1 "* ]]; }

if step routing; then
  routing_orders=${BENCH_ROUTING_ORDERS:-$((seconds >= 20 ? 200000 : seconds * 10000))}
  routing_db=${BENCH_ROUTING_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/oms_bench_routing}
  echo "== routing: a backlog of $routing_orders orders, 1 order per task, then batches on 1, 2, 4 workers"
  "$PY" bench/routing.py --orders "$routing_orders" --seconds $((seconds * 3)) \
    --warmup $((seconds / 2)) --workers 1,2,4 --write --database-url "$routing_db" \
    --redis-url "${BENCH_ROUTING_REDIS_URL:-redis://127.0.0.1:6379/13}" >"$work/routing.json" ||
    echo "routing run failed" >&2
  # bench/routing.py keeps its backlog database for a look afterwards; the suite does not.
  DATABASE_URL=$routing_db "$PY" bench/intake.py dropdb >/dev/null 2>&1 || true
fi

if step pressure; then
  # The mixed-SKU SQL limit at 16 clients is the one measured above: handed over, not
  # measured twice.
  pressure_seconds=${BENCH_PRESSURE_SECONDS:-$((seconds < 15 ? seconds : 15))}
  BENCH_SQL_LIMIT_16=$([ -s "$work/sql-16.txt" ] && echo "$work/sql-16.txt" || true) \
    BENCH_COMMAND="$command_line" BENCH_WARMUP="$warmup" \
    BENCH_DATABASE_URL=${BENCH_PRESSURE_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/oms_bench_pressure} \
    BENCH_REDIS_URL=${BENCH_PRESSURE_REDIS_URL:-redis://127.0.0.1:6379/13} \
    bash bench/pressure.sh "$pressure_seconds" || echo "pressure run failed" >&2
fi

if step pipeline; then
  backlog=${BENCH_PIPELINE_BACKLOG:-$((seconds >= 20 ? 20000 : seconds * 1000))}
  echo "== background pipeline: one worker, 16 and 4 clients, paced at 8 and 16 orders/s"
  "$PY" bench/pipeline.py --clients 16 4 --rates 8 16 --seconds "$seconds" \
    --backlog "$backlog" --command-line "$command_line" || echo "pipeline run failed" >&2
fi
echo "== done in $((SECONDS / 60)) min $((SECONDS % 60)) s: ${suite// /, }; docs/benchmarks.md written"
