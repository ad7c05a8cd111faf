# Shared by the benchmark scripts (bench/run.sh, bench/pressure.sh), sourced after they
# cd to the repository: the production settings OMS runs with, the ports, and the two
# references measured beside OMS (the peer and the SQL limit, ../shared/bench-peer).
# shellcheck shell=bash

BIN=${VENV:-.venv}/bin
PY=$BIN/python
peer_dir=${OMS_BENCH_PEER_DIR:-$PWD/../shared/bench-peer}

# Production settings from the environment, as the README describes them, on the
# database and Redis given; only what a loopback benchmark needs is relaxed (no TLS in
# front of gunicorn).
oms_production_env() {
  export DJANGO_SETTINGS_MODULE=oms.settings.base
  export DATABASE_URL=$1
  export REDIS_URL=$2
  export SECRET_KEY
  SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
  export ALLOWED_HOSTS=127.0.0.1,localhost
  export DEBUG=false
  export SECURE_SSL_REDIRECT=false
  export SESSION_COOKIE_SECURE=false
  export CSRF_COOKIE_SECURE=false
  export LOG_LEVEL=${LOG_LEVEL:-WARNING}
  # As deployed in production: a relay process publishes the outbox, requests only
  # write it.
  export OMS_OUTBOX_RELAY=${OMS_OUTBOX_RELAY:-process}
  # The load generator's one API key sends more than a client may (6000/min, counted
  # across the server's processes in Redis): every request is still counted, none
  # refused.
  export OMS_API_THROTTLE_RATE=${OMS_API_THROTTLE_RATE:-10000000/min}
}

# The peers configure themselves; none of the settings above may leak into them.
oms_vars=(DJANGO_SETTINGS_MODULE DATABASE_URL REDIS_URL SECRET_KEY ALLOWED_HOSTS DEBUG
  SECURE_SSL_REDIRECT SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE LOG_LEVEL OMS_OUTBOX_RELAY
  OMS_API_THROTTLE_RATE)
peer() { env "${oms_vars[@]/#/--unset=}" bash "$@"; }

# Why the peer and the SQL limit cannot run here; nothing when they can.
peer_skip_reason() {
  if [ ! -d "$peer_dir" ]; then
    echo "skipped: peer scripts not found (set OMS_BENCH_PEER_DIR)"
  elif [ "$(id -u)" != 0 ]; then
    echo "skipped: the peer scripts start their own PostgreSQL and need root"
  fi
}

# sql_limit CLIENTS SECONDS SCRIPT OUT: the SQL limit (pgbench running SCRIPT, the bare
# SQL of one order, on a throwaway cluster); its output goes to OUT (…/name.txt) and the
# load average at its end to …/name.load. Never fails the caller.
sql_limit() {
  local clients=$1 seconds=$2 script=$3 out=$4
  if peer "$peer_dir/sql-limit/run.sh" "$clients" "$seconds" "$script" \
    >"$out" 2>"${out%.txt}.err"; then
    cut -d' ' -f1 /proc/loadavg >"${out%.txt}.load" 2>/dev/null || true
    echo "SQL limit ($script, $clients clients) $(grep -E '^tps' "$out" || echo 'printed no result')"
  else
    echo "SQL limit ($script, $clients clients) failed:" >&2
    tail -n 5 "${out%.txt}.err" >&2
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Whether a server could listen on the port now: nothing listens there, and no socket
# (a load generator's connection that has just closed, say) still holds it locally.
port_bindable() {
  "$PY" -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# free_port PORT: PORT, or the next port a server could listen on.
free_port() {
  local port=$1
  while port_in_use "$port" || ! port_bindable "$port"; do port=$((port + 1)); done
  echo "$port"
}

wait_for_port() {
  for _ in $(seq 120); do
    if port_bindable "$1"; then return 0; fi
    sleep 0.5
  done
  echo "port $1 is still taken after 60 s" >&2
}

wait_for_peer_exit() {
  for _ in $(seq 120); do
    if ! port_in_use 58000 && ! port_in_use 55432; then return 0; fi
    sleep 0.5
  done
  echo "the peer's server or database is still up after 60 s" >&2
}
