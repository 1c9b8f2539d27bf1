#!/usr/bin/env bash
# Restores a backup made by deploy/hub-backup.sh into an EMPTY database (docs/HUB.md,
# "Backups"): one transaction, stopping at the first error, so a failed restore leaves the
# database empty rather than half filled.
#
#   deploy/hub-restore.sh FILE postgresql://user@host:5432/new_database
#
# Create the database first (createdb -O hubuser new_database), restore, check, then point
# HUB_DATABASE_URL at it and start the hub with the SAME secrets file (the keys are not in
# the dump; without them no machine authenticates and every kiosk must be re-provisioned).
set -euo pipefail

file="${1:?usage: hub-restore.sh FILE DATABASE_URL}"
url="${2:?usage: hub-restore.sh FILE DATABASE_URL}"

tables="$(psql --dbname="$url" -Atqc \
  "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
if [ "$tables" != "0" ]; then
  echo "hub-restore: the target database already has $tables table(s); restore into an" \
       "empty one" >&2
  exit 1
fi
pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
  --dbname="$url" "$file"
echo "restored $file" >&2
