#!/usr/bin/env bash
# Upgrade check: a database built and seeded by an earlier release is migrated to this
# tree's schema, checked, migrated back to the earlier schema and forward again.
#
#   bash scripts/upgrade_check.sh [BASE]        BASE: a commit (default $UPGRADE_FROM)
#
# Moving a model between apps must keep its rows: the moves are state-only migrations
# (the tables keep their names) and content types follow the model. This proves it on the
# demo data: the earlier release migrates and seeds the database with its own code; then
# this tree migrates it, `check_integrity` must find nothing, and the rows of every table
# must still be there, read through this tree's models. Everything runs on PostgreSQL
# (UPGRADE_DATABASE_URL, dropped and recreated; its name must contain "upgrade").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PY=$root/${VENV:-.venv}/bin/python
# The last release before the apps were re-layered (the ground package, the shipping app,
# the notification log in orders).
base=${1:-${UPGRADE_FROM:-0fe2ff4}}
url=${UPGRADE_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/oms_upgrade_check}
case "$url" in *upgrade*) ;; *) echo "UPGRADE_DATABASE_URL must name an upgrade database" >&2; exit 2 ;; esac

if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  git fetch --quiet --unshallow 2>/dev/null || true
fi
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
  # A shallow clone without its origin: there is no earlier release to upgrade from.
  echo "upgrade check SKIPPED: commit $base is not in this clone's history" >&2
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive "$base" | tar -x -C "$work"

export DJANGO_SETTINGS_MODULE=oms.settings.local DATABASE_URL=$url LOG_LEVEL=WARNING \
  EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend MEDIA_ROOT=$work/media
unset REDIS_URL

"$PY" - "$url" <<'EOF'
import sys
from urllib.parse import urlsplit

import psycopg

parts = urlsplit(sys.argv[1])
name = parts.path.lstrip("/")
admin = parts._replace(path="/postgres").geturl()
with psycopg.connect(admin, autocommit=True) as connection:
    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.execute(f'CREATE DATABASE "{name}"')
EOF

# The earlier release's manage.py, reading only that release's packages: the editable
# install of this tree would otherwise lend it the modules it lacks (a returns.models that
# did not exist then, say).
old_manage() {
  (cd "$work" && "$PY" -c '
import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, ".")
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
' "$@")
}

echo "--- $base: migrate and seed the demo with that release's code"
old_manage migrate --noinput --verbosity 0
old_manage seed_demo --quiet --orders 200 --customers 40 --live-orders 30

# Every table's row count, read with SQL so that it does not depend on either tree's models.
count_rows() {
  "$PY" - "$url" <<'EOF'
import json
import sys

import psycopg

with psycopg.connect(sys.argv[1]) as connection:
    tables = [
        row[0]
        for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    counts = {
        table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        for table in tables
        if not table.startswith(("django_", "auth_", "axes_"))
    }
print(json.dumps(counts, sort_keys=True))
EOF
}

before=$(count_rows)
# The latest migration of each app in the earlier release: where the way back stops.
old_targets=$(cd "$work" && for dir in */migrations; do
  app=${dir%/migrations}
  last=$(ls "$dir" | grep -E '^[0-9]{4}_.*\.py$' | sort | tail -n1)
  if [ -n "$last" ]; then echo "$app ${last%.py}"; fi
done)

echo "--- this tree: migrate forward, check"
"$PY" manage.py migrate --noinput --verbosity 0
"$PY" manage.py check_integrity
"$PY" manage.py shell -c '
from django.apps import apps
from django.contrib.contenttypes.models import ContentType

# Every model of this tree reads its rows, and its content type names its current app.
for model in apps.get_models():
    model.objects.count()
stale = [
    f"{ct.app_label}.{ct.model}"
    for ct in ContentType.objects.all()
    if ct.model_class() is None and apps.is_installed(ct.app_label)
]
assert not stale, f"content types left behind by a moved model: {stale}"
'
after=$(count_rows)
"$PY" - "$before" "$after" <<'EOF'
import json
import sys

before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
lost = {table: (count, after.get(table)) for table, count in before.items() if after.get(table) != count}
assert not lost, f"rows changed by the upgrade (before, after): {lost}"
print(f"upgrade check: {len(before)} tables, {sum(before.values())} rows kept")
EOF

echo "--- back to $base's schema, and forward again"
new_apps=$(for dir in */migrations; do
  if [ ! -d "$work/$dir" ]; then echo "${dir%/migrations}"; fi
done)
for app in $new_apps; do
  "$PY" manage.py migrate "$app" zero --noinput --verbosity 0
done
while read -r app target; do
  if [ -n "$app" ]; then "$PY" manage.py migrate "$app" "$target" --noinput --verbosity 0; fi
done <<< "$old_targets"
old_manage migrate --check --noinput >/dev/null
old_manage check_integrity
"$PY" manage.py migrate --noinput --verbosity 0
"$PY" manage.py check_integrity
again=$(count_rows)
[ "$again" = "$after" ] || { echo "rows changed by migrating back and forth" >&2; exit 1; }
echo "upgrade check: $base -> this tree -> $base -> this tree, data intact"
