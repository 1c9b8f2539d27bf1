#!/usr/bin/env bash
# A backup of the hub's PostgreSQL database: pg_dump's custom format (compressed; restored
# with deploy/hub-restore.sh, table by table if need be), checked readable, then the oldest
# beyond HUB_BACKUP_KEEP removed. Run daily by deploy/kiosk-hub-backup.timer (docs/HUB.md).
#
#   HUB_DATABASE_URL=postgresql://... deploy/hub-backup.sh [DIR]
#
# DIR: default $HUB_BACKUP_DIR or /var/backups/kiosk-hub. Prints the new file's path.
# The dump holds sealed machine secrets but not the keys: keep the secrets file apart.
set -euo pipefail

url="${HUB_DATABASE_URL:?HUB_DATABASE_URL is not set}"
dir="${1:-${HUB_BACKUP_DIR:-/var/backups/kiosk-hub}}"
keep="${HUB_BACKUP_KEEP:-14}"

umask 077  # participants' records: readable by the backup's owner only
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
partial="$dir/.hub-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --no-owner --no-privileges --file="$partial" --dbname="$url"
pg_restore --list "$partial" >/dev/null  # a truncated archive fails here, not at restore time
mv "$partial" "$dir/hub-$stamp.dump"

# Newest first; everything after the first $keep goes.
mapfile -t old < <(ls -1t "$dir"/hub-*.dump | tail -n +"$((keep + 1))")
if [ "${#old[@]}" -gt 0 ]; then
  rm -f -- "${old[@]}"
fi
echo "$dir/hub-$stamp.dump"
