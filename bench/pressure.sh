#!/usr/bin/env bash
# Order intake under pressure against the production server settings (gunicorn.conf.py):
# mixed SKUs at 16, 64 and 256 clients, a hot SKU in every order at 16 and 64 clients,
# batch intake, then the stock invariants and the SQL limit (mixed and hot SKU) in the
# same run; writes the "Intake under pressure" section of docs/benchmarks.md. `make
# bench` runs it after the intake benchmark (bench/run.sh), handing over that run's
# SQL limit at 16 clients.
#
#   bash bench/pressure.sh [SECONDS]
#
# Settings (environment): BENCH_SECONDS (15), BENCH_WARMUP (3), BENCH_BATCH_SIZE (100
# orders per batch request), BENCH_BATCH_CLIENTS (8: two batches in flight per server
# worker process, so one is parsed while the other waits on the database),
# BENCH_DATABASE_URL (dropped and recreated; its name must contain "bench"),
# BENCH_REDIS_URL (emptied), BENCH_PORT (58200, or the next free port),
# OMS_BENCH_PEER_DIR (default ../shared/bench-peer),
# BENCH_SQL_LIMIT_16 (the output of a SQL-limit run of intake_cond.sql at 16 clients
# in the same benchmark run: used instead of measuring it again).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
. bench/lib.sh

seconds=${1:-${BENCH_SECONDS:-15}}
warmup=${BENCH_WARMUP:-3}
batch_size=${BENCH_BATCH_SIZE:-100}
batch_clients=${BENCH_BATCH_CLIENTS:-8}

oms_production_env \
  "${BENCH_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/oms_bench_pressure}" \
  "${BENCH_REDIS_URL:-redis://127.0.0.1:6379/13}"

work=$(mktemp -d "${TMPDIR:-/tmp}/oms-pressure.XXXXXX")
gpid=""
rpid=""

stop_oms() {
  if [ -n "$gpid" ]; then kill -TERM "$gpid" 2>/dev/null || true; wait "$gpid" 2>/dev/null || true; gpid=""; fi
  if [ -n "$rpid" ]; then kill -TERM "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; rpid=""; fi
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_oms
  "$PY" bench/intake.py dropdb >/dev/null 2>&1 || echo "could not drop the benchmark database" >&2
  "$PY" bench/intake.py flushredis >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port "${BENCH_PORT:-58200}")

echo "== setup: database, migrations, seed"
"$PY" bench/intake.py createdb
"$PY" bench/intake.py flushredis
"$PY" manage.py migrate --noinput -v 0
"$PY" bench/intake.py seed --state "$work/state.json"
"$PY" bench/pressure.py meta --out "$work/meta.json" --seconds "$seconds" \
  --batch-size "$batch_size" --batch-clients "$batch_clients" \
  --command-line "${BENCH_COMMAND:-bash bench/pressure.sh $seconds}"

# The production shape, read from gunicorn.conf.py in this directory: 4 workers x 4
# threads, one pooled connection per thread (DATABASE_POOL_MAX), the outbox relay beside.
if [ "$OMS_OUTBOX_RELAY" = process ]; then
  "$PY" manage.py relay_outbox >>"$work/relay.log" 2>&1 &
  rpid=$!
fi
"$BIN/gunicorn" oms.wsgi:application --bind "127.0.0.1:$port" --log-level warning \
  >>"$work/gunicorn.log" 2>&1 &
gpid=$!
"$PY" bench/intake.py wait --port "$port"

run() {
  local mode=$1 clients=$2
  echo "== $mode, $clients client(s), ${seconds}s"
  "$PY" bench/pressure.py load --state "$work/state.json" --port "$port" --mode "$mode" \
    --clients "$clients" --batch-size "$batch_size" --seconds "$seconds" --warmup "$warmup" \
    --server-pid "$gpid" ${rpid:+--relay-pid "$rpid"} --out "$work/run-$mode-$clients.json" ||
    echo "$mode run at $clients clients failed" >&2
}
run mixed 16
run hot 16
run mixed 64
run hot 64
run mixed 256
run batch "$batch_clients"
stop_oms

echo "== stock after the runs"
"$PY" bench/pressure.py check --state "$work/state.json" --out "$work/check.json"

sql_skipped=$(peer_skip_reason)
if [ -n "${BENCH_SQL_LIMIT_16:-}" ] && [ -s "$BENCH_SQL_LIMIT_16" ]; then
  cp "$BENCH_SQL_LIMIT_16" "$work/sql-16.txt"
  echo "SQL limit (intake_cond.sql, 16 clients) of this run: $(grep -E '^tps' "$work/sql-16.txt" || echo 'no result')"
elif [ -z "$sql_skipped" ]; then
  sql_limit 16 "$seconds" intake_cond.sql "$work/sql-16.txt"
fi
if [ -z "$sql_skipped" ]; then
  sql_limit 16 "$seconds" intake_hot_cond.sql "$work/sql-hot-16.txt"
else
  echo "SQL limit $sql_skipped"
fi

if [ -s "$work/gunicorn.log" ]; then
  grep -v -e 'No directory at' -e 'mw_instance = ' -e 'No keepalived connections' \
    "$work/gunicorn.log" | tail -n 20 || true
fi
"$PY" bench/pressure.py report --results "$work"
